r"""AutoAttack (standard) against the same ensemble of torchattacks components, per component.

Same architecture (SmallCNN), same weights (the exact torch twin of
tests/peers/torch_models.py), same mnist5k test images, Linf eps 0.1, on two
models: an easy one (standard training: most points fall to APGD-CE) and a
robust one (PGD training: APGD-T, FAB-T and Square run their full budgets on
most points). Both sides follow the reference protocol: the clean-correct
points are attacked by each component in turn, and each component sees only
the points no earlier one broke:
  ours: `jaxrobust.eval.EnsembleEvaluator` with `AutoAttack(...).components()`
    (APGD-CE, APGD-T 9 targets, FAB-T 9 targets: 100 iterations; Square 5,000
    queries, p_init 0.8), jitted on XLA CPU; the survivors of a component are
    re-packed into the next power-of-two batch (`eval.evaluator.padded_size`);
  peer: torchattacks' APGD (ce), APGDT (n_classes=10: 9 targets), FAB
    (multi-targeted, 9 targets) and Square (5,000 queries, p_init 0.8), torch
    CPU with 2 threads, chained as `torchattacks.MultiAttack` chains them, each
    timed on its own. (torchattacks' own `AutoAttack` wrapper runs 10
    iterations and another Square schedule: it is not the reference protocol.)
    Inside APGDT and FAB it drops the points broken by an earlier target;
    inside Square, the points already fooled.
Reported per model: wall time of each side and of each component (ours
excluding compilation, which is given apart), the ratio, both robust
accuracies, and model passes per example (rows through the model, a forward
with or without its backward, over all components, divided by n): ours counted
by a `jax.debug.callback` in a separate counting run, the peer's by a forward
hook. Passes are hardware-independent; a pass of ours on a padded row counts.

  python -m bench.autoattack [--n=32] [--big_n=500] [--quick] [--out=bench/results]
"""

from __future__ import annotations

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

_N = flags.DEFINE_integer("n", 32, "Test images attacked on each model.")
_BIG_N = flags.DEFINE_integer("big_n", 500, "A second, larger n on the robust model (0: none).")
_QUICK = flags.DEFINE_bool("quick", False, "Reduced budgets and sizes (the `python -m bench --quick` row).")
_OUT = flags.DEFINE_string("out", "bench/results", "Directory for the JSON results.")

EPS = 0.1
NAMES = ("apgd-ce", "apgd-t", "fab-t", "square")
MODELS = {
    "easy (standard)": ({"name": "standard"}, 2),
    "robust (PGD-AT)": ({"name": "pgd_at",
                         "attack": {"name": "pgd", "eps": EPS, "step_size": 0.03, "steps": 5}}, 3),
}


@functools.lru_cache(maxsize=None)
def _train(name: str):
  """(model, variables, test split) of a MODELS entry, trained once per process."""
  defense, epochs = MODELS[name]
  config = tiny.get_config()
  config.defense = defense
  config.model = {"name": "small_cnn"}
  config.epochs = epochs
  result = train.fit(config, tempfile.mkdtemp())
  return result.model, train.variables(result.state), result.test


def _peer_components(twin, torchattacks, eps, steps, n_queries):
  return {
      "apgd-ce": torchattacks.APGD(twin, norm="Linf", eps=eps, steps=steps, n_restarts=1,
                                   loss="ce"),
      "apgd-t": torchattacks.APGDT(twin, norm="Linf", eps=eps, steps=steps, n_restarts=1,
                                   n_classes=10),
      "fab-t": torchattacks.FAB(twin, norm="Linf", eps=eps, steps=steps, n_restarts=1,
                                multi_targeted=True, n_classes=10),
      "square": torchattacks.Square(twin, norm="Linf", eps=eps, n_queries=n_queries,
                                    n_restarts=1, p_init=0.8),
  }


class _RowCounter:
  """Rows through the model: a host-side total fed by callbacks or hooks."""

  def __init__(self):
    self.rows = 0

  def add(self, rows) -> None:
    self.rows += int(rows)


def _ours(model, variables, images, labels, n, steps, n_queries, count: bool):
  """Our ensemble: (result of the steady-state call, seconds, compile seconds,
  passes per example or None)."""
  components = AutoAttack(eps=EPS, steps=steps, n_queries=n_queries).components()
  apply_fn = functools.partial(model.apply, train=False)
  ensemble = EnsembleEvaluator(apply_fn, components, batch_size=n)
  key = jax.random.key(0)
  tic = time.perf_counter()
  ensemble(variables, images, labels, key=key)  # compiles every shape it meets
  t_first = time.perf_counter() - tic
  tic = time.perf_counter()
  # The same key: the same survivors, so the same (compiled) shapes.
  result = ensemble(variables, images, labels, key=key)
  t_ours = time.perf_counter() - tic
  passes = None
  if count:
    counter = _RowCounter()

    def counted(v, z):
      jax.debug.callback(counter.add, z.shape[0])
      return apply_fn(v, z)

    EnsembleEvaluator(counted, components, batch_size=n)(variables, images, labels, key=key)
    passes = counter.rows / n
  return result, t_ours, t_first - t_ours, passes


def _peer(twin, torch, torchattacks, images, labels, steps, n_queries):
  """The peer's chain: (robust accuracy, seconds, {name: seconds}, passes per
  example, clean accuracy). As MultiAttack, but from the clean-correct points
  and with each component timed."""
  from tests.peers.torch_models import nhwc_to_nchw
  counter = _RowCounter()
  twin.register_forward_hook(lambda module, inputs, out: counter.add(inputs[0].shape[0]))
  xt = nhwc_to_nchw(data.to_float(images))
  yt = torch.from_numpy(np.asarray(labels)).long()
  with torch.no_grad():
    alive = torch.nonzero(twin(xt).argmax(1) == yt).flatten()
  clean = len(alive) / len(yt)
  torch.manual_seed(0)
  times = {}
  for name, attack in _peer_components(twin, torchattacks, EPS, steps, n_queries).items():
    tic = time.perf_counter()
    if len(alive):
      x_adv = attack(xt[alive], yt[alive])
      with torch.no_grad():
        alive = alive[twin(x_adv).argmax(1) == yt[alive]]
    times[name] = time.perf_counter() - tic
  return len(alive) / len(yt), sum(times.values()), times, counter.rows / len(yt), clean


def _measure(model_name: str, n: int, steps: int, n_queries: int, count: bool) -> dict:
  """One row of the bench interface (bench/__main__.py) for one model and n."""
  model, variables, test = _train(model_name)
  if n > len(test.labels):
    raise ValueError(f"n={n} exceeds the {len(test.labels)} test images.")
  images, labels = test.images[:n], test.labels[:n]
  ours, t_ours, t_compile, passes_ours = _ours(model, variables, images, labels, n, steps,
                                               n_queries, count)
  budget = ("reference budgets" if (steps, n_queries) == (100, 5000)
            else f"{steps} steps, {n_queries} queries")
  case = f"AutoAttack standard Linf {EPS}, {model_name}, n={n}, {budget}"
  fields = dict(peer=_timing.peer_name("torchattacks"), peer_status="not installed",
                compile_s=t_compile, robust_acc_ours=ours["robust"], passes_ours=passes_ours)
  note = {"clean_ours": ours["clean"],
          "ours_s_per_component": {k: round(v, 3) for k, v in ours["time_s"].items()}}
  peers = _timing.import_peer("torch", "torchattacks")
  if peers is not None:
    torch, torchattacks = peers
    from tests.peers.torch_models import to_torch
    torch.set_num_threads(2)
    robust, t_peer, per_component, passes_peer, clean = _peer(
        to_torch(model, variables), torch, torchattacks, images, labels, steps, n_queries)
    note.update(clean_peer=clean, peer_s_per_component={k: round(v, 3)
                                                        for k, v in per_component.items()})
    fields.update(peer_s=t_peer, peer_status="ok", robust_acc_peer=robust,
                  passes_peer=passes_peer)
  return _timing.row("autoattack", case, t_ours, note=json.dumps(note), **fields)


def rows(quick: bool) -> list[dict]:
  """quick: the robust model, n=16, 10 iterations and 100 queries (a smoke
  figure, tens of seconds). Full: both models at n=32 and the robust one at
  n=500, reference budgets (the peer alone takes tens of minutes at n=500)."""
  if quick:
    return [_measure("robust (PGD-AT)", 16, 10, 100, count=True)]
  return [_measure(name, n, 100, 5000, count=True)
          for name, n in (("easy (standard)", 32), ("robust (PGD-AT)", 32),
                          ("robust (PGD-AT)", 500))]


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  if _QUICK.value:
    out = rows(quick=True)
  else:
    cases = [(name, _N.value) for name in MODELS]
    if _BIG_N.value:
      cases.append(("robust (PGD-AT)", _BIG_N.value))
    out = []
    for name, n in cases:
      out.append(_measure(name, n, 100, 5000, count=True))
      print(out[-1], flush=True)  # each row as soon as it is measured
  _timing.print_table(out, ["case", "ours_s", "peer_s", "speedup", "compile_s",
                            "robust_acc_ours", "robust_acc_peer", "passes_ours",
                            "passes_peer"])
  print("wrote", _timing.write_results("autoattack", out, _OUT.value))


if __name__ == "__main__":
  app.run(main)
