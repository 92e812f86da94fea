r"""AutoAttack (standard, reference budgets) against the same ensemble of torchattacks components.

Same architecture (SmallCNN), same weights (the exact torch twin of
tests/peers/torch_models.py), same mnist5k test images, Linf eps 0.1, on two
models: an easy one (standard training: most points fall to APGD-CE) and a
robust one (PGD training: APGD-T, FAB-T and Square run their full budgets on
most points). Both sides attack only the points still robust:
  ours: `jaxrobust.eval.EnsembleEvaluator` with `AutoAttack(...).components()`
    (APGD-CE, APGD-T 9 targets, FAB-T 9 targets: 100 iterations; Square 5,000
    queries, p_init 0.8), jitted on XLA CPU;
  peer: `torchattacks.MultiAttack` of APGD (ce, 100 steps), APGDT (100 steps,
    n_classes=10: 9 targets), FAB (multi-targeted, 100 steps, 9 targets) and
    Square (5,000 queries, p_init 0.8), torch CPU with 2 threads. (torchattacks'
    own `AutoAttack` wrapper runs 10 iterations and another Square schedule:
    it is not the reference protocol.)
Reported: wall time of each (ours excluding compilation, which is given
separately), the ratio, and both robust accuracies.

  python -m bench.autoattack [--n=32] [--out=bench/results]
"""

import functools
import json
import tempfile
import time

import jax
import numpy as np
from absl import app, flags, logging

from bench import _timing
from experiments.configs import tiny
from jaxrobust import data, train
from jaxrobust.attacks.autoattack import AutoAttack
from jaxrobust.eval import EnsembleEvaluator

_N = flags.DEFINE_integer("n", 32, "Test images attacked (one batch).")
_OUT = flags.DEFINE_string("out", "bench/results", "Directory for the JSON results.")

EPS = 0.1


def _train(defense: dict, epochs: int):
  config = tiny.get_config()
  config.defense = defense
  config.model = {"name": "small_cnn"}
  config.epochs = epochs
  result = train.fit(config, tempfile.mkdtemp())
  return result.model, train.variables(result.state), result.test


def _peer(twin, torchattacks, eps):
  return torchattacks.MultiAttack([
      torchattacks.APGD(twin, norm="Linf", eps=eps, steps=100, n_restarts=1, loss="ce"),
      torchattacks.APGDT(twin, norm="Linf", eps=eps, steps=100, n_restarts=1, n_classes=10),
      torchattacks.FAB(twin, norm="Linf", eps=eps, steps=100, n_restarts=1,
                       multi_targeted=True, n_classes=10),
      torchattacks.Square(twin, norm="Linf", eps=eps, n_queries=5000, n_restarts=1,
                          p_init=0.8),
  ])


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  import torch
  import torchattacks
  from tests.peers.torch_models import nhwc_to_nchw, to_torch
  torch.set_num_threads(2)
  n = _N.value
  rows = []
  for name, defense, epochs in (
      ("easy (standard)", {"name": "standard"}, 2),
      ("robust (PGD-AT)", {"name": "pgd_at",
                            "attack": {"name": "pgd", "eps": EPS, "step_size": 0.03, "steps": 5}}, 3)):
    model, variables, test = _train(defense, epochs)
    images, labels = test.images[:n], test.labels[:n]
    ensemble = EnsembleEvaluator(functools.partial(model.apply, train=False),
                                 AutoAttack(eps=EPS).components(), batch_size=n)
    key = jax.random.key(0)
    tic = time.perf_counter()
    ensemble(variables, images, labels, key=key)  # compiles every component
    t_first = time.perf_counter() - tic
    tic = time.perf_counter()
    ours = ensemble(variables, images, labels, key=jax.random.fold_in(key, 1))
    t_ours = time.perf_counter() - tic

    twin = to_torch(model, variables)
    xt = nhwc_to_nchw(data.to_float(images))
    yt = torch.from_numpy(np.asarray(labels)).long()
    peer = _peer(twin, torchattacks, EPS)
    torch.manual_seed(0)
    tic = time.perf_counter()
    x_adv = peer(xt, yt)
    t_peer = time.perf_counter() - tic
    with torch.no_grad():
      peer_robust = float((twin(x_adv).argmax(1) == yt).float().mean())
      peer_clean = float((twin(xt).argmax(1) == yt).float().mean())
    rows.append({
        "model": name, "n": n, "clean_ours": ours["clean"], "clean_peer": peer_clean,
        "robust_ours": ours["robust"], "robust_peer": peer_robust,
        "ours_s": t_ours, "ours_compile_s": t_first - t_ours, "peer_s": t_peer,
        "speedup": t_peer / t_ours,
        "ours_s_per_attack": {k: round(v, 3) for k, v in ours["time_s"].items()},
    })
    print(rows[-1], flush=True)  # each model's row as soon as it is measured
  _timing.print_table(rows, ["model", "n", "clean_ours", "clean_peer", "robust_ours",
                             "robust_peer", "ours_s", "ours_compile_s", "peer_s", "speedup"])
  path = _timing.write_results("autoattack", rows, _OUT.value)
  with open(path) as f:
    payload = json.load(f)
  payload["extras"] = {"torch_threads": torch.get_num_threads(), "torch": torch.__version__,
                       "torchattacks": torchattacks.__version__, "eps": EPS}
  with open(path, "w") as f:
    json.dump(payload, f, indent=2)
  print("wrote", path)


if __name__ == "__main__":
  app.run(main)
