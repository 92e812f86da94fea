r"""Attacks side by side with torchattacks, and against their physical limit.

Same architecture (SmallCNN), same weights (converted exactly to a torch twin,
tests/peers/torch_models.py) and the same batch of mnist5k images. Ours run
jitted on XLA CPU; the peer (torchattacks 3.5.1) on torch CPU with
`torch.set_num_threads(2)`. For each attack: images/s of both, and the ratio
time(attack of k steps) / (k * time(one forward+backward w.r.t. the input)) of
each framework against its own forward+backward (1.0 is the limit). Also: an
8-radius robustness curve in one vmapped call (`attacks.sweep`) against 8
separate calls of one compiled attack, and PGD-10 traced with
`fori_loop(..., unroll=True)` (a probe: the library is unchanged).

  python -m bench.attacks [--batch_size=256] [--steps=10] [--cw_steps=50] [--out=bench/results]

Needs the peers: pip install -r requirements-peers.txt && pip install --no-deps torchattacks==3.5.1
"""

import functools
import importlib.util
import json
import statistics
import time
import unittest.mock

from absl import app, flags

import jax
import jax.numpy as jnp
import numpy as np

from bench import _timing
from jaxrobust import attacks, data, models
from jaxrobust.losses import cross_entropy

_BATCH = flags.DEFINE_integer("batch_size", 256, "Images per attack call.")
_STEPS = flags.DEFINE_integer("steps", 10, "PGD iterations.")
_CW_STEPS = flags.DEFINE_integer("cw_steps", 50, "CW Adam steps.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed calls per measurement (median).")
_OUT = flags.DEFINE_string("out", "bench/results", "Directory for the JSON results.")

LINF, L2 = 0.1, 1.5


def torch_seconds(fn, repeats: int, warmup: int = 1) -> float:
  for _ in range(warmup):
    fn()
  times = []
  for _ in range(repeats):
    tic = time.perf_counter()
    fn()
    times.append(time.perf_counter() - tic)
  return statistics.median(times)


class _CountingModel:
  """Counts forward calls of the torch twin (torchattacks' CW may stop early)."""

  def __init__(self, module):
    self.calls = 0
    module.register_forward_hook(lambda *_: setattr(self, "calls", self.calls + 1))


def main(argv):
  del argv
  import torch
  import torchattacks
  from tests.peers.torch_models import nhwc_to_nchw, to_torch
  torch.set_num_threads(2)
  batch, k, repeats = _BATCH.value, _STEPS.value, _REPEATS.value

  ds = data.load("mnist5k", "train")
  model = models.create("small_cnn", num_classes=10, mean=ds.info.mean, std=ds.info.std)
  variables = model.init(jax.random.key(0), jnp.zeros((1,) + tuple(ds.info.input_shape)))
  logits_fn = models.as_logits_fn(model, variables)
  twin = to_torch(model, variables)
  counter = _CountingModel(twin)
  x = data.to_float(ds.images[:batch])
  y = jnp.asarray(ds.labels[:batch])
  xt, yt = nhwc_to_nchw(x), torch.from_numpy(np.array(y)).long()

  # The limit: one forward+backward w.r.t. the input, in each framework.
  grad_x = jax.jit(jax.grad(lambda z: cross_entropy(logits_fn(z), y).sum()))
  t_fb_ours = _timing.median_seconds(lambda: grad_x(x), repeats=20)

  def torch_fb():
    z = xt.clone().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(twin(z), yt)
    return torch.autograd.grad(loss, z)[0]
  t_fb_peer = torch_seconds(torch_fb, repeats=20)

  jit_attack = jax.jit(lambda attack, x, y, key: attack(logits_fn, x, y, key=key))
  key = jax.random.key(0)
  cases = [
      ("fgsm", 1, attacks.PGD(eps=LINF, step_size=LINF, steps=1, random_start=False),
       torchattacks.FGSM(twin, eps=LINF)),
      (f"pgd{k}_linf", k, attacks.PGD(eps=LINF, step_size=LINF / 4, steps=k),
       torchattacks.PGD(twin, eps=LINF, alpha=LINF / 4, steps=k)),
      (f"pgd{k}_l2", k, attacks.PGD(eps=L2, step_size=L2 / 4, steps=k, norm="l2"),
       torchattacks.PGDL2(twin, eps=L2, alpha=L2 / 4, steps=k)),
  ]
  if importlib.util.find_spec("jaxrobust.attacks.fgsm"):
    from jaxrobust.attacks.fgsm import FGSM
    cases[0] = ("fgsm", 1, FGSM(eps=LINF), cases[0][3])
  notes = []
  if importlib.util.find_spec("jaxrobust.attacks.cw"):
    from jaxrobust.attacks.cw import CW
    cases.append((f"cw{_CW_STEPS.value}", _CW_STEPS.value,
                  CW(c=1.0, steps=_CW_STEPS.value, learning_rate=0.01),
                  torchattacks.CW(twin, c=1.0, steps=_CW_STEPS.value, lr=0.01)))
  else:
    notes.append("cw skipped: jaxrobust.attacks.cw does not exist")

  rows = []
  for name, steps, ours, peer in cases:
    t_ours = _timing.median_seconds(lambda: jit_attack(ours, x, y, key), repeats=repeats)
    counter.calls = 0
    t_peer = torch_seconds(lambda: peer(xt, yt), repeats=repeats)
    # Forward calls per attack call (warm-up included in the count, hence / (repeats + 1)).
    peer_steps = counter.calls / (repeats + 1)
    rows.append({
        "attack": name, "steps": steps, "batch": batch,
        "ours_ms": 1e3 * t_ours, "peer_ms": 1e3 * t_peer,
        "ours_img_s": batch / t_ours, "peer_img_s": batch / t_peer,
        "speedup": t_peer / t_ours,
        "ours_vs_limit": t_ours / (steps * t_fb_ours),
        "peer_vs_limit": t_peer / (steps * t_fb_peer),
        "peer_forwards": peer_steps,
    })
  if any(r["attack"].startswith("cw") and r["peer_forwards"] < r["steps"] for r in rows):
    notes.append("torchattacks' CW stopped early (its cost check every steps // 10 steps): "
                 "peer_forwards < steps; its ms cover fewer steps than ours")

  # PGD-k traced with an unrolled fori_loop: same math, one straight-line program.
  real_fori = jax.lax.fori_loop
  unrolled = functools.partial(real_fori, unroll=True)
  pgd = cases[1][2]
  with unittest.mock.patch.object(jax.lax, "fori_loop", unrolled):
    jit_unrolled = jax.jit(lambda x, y, key: pgd(logits_fn, x, y, key=key))
    t_unrolled = _timing.median_seconds(lambda: jit_unrolled(x, y, key), repeats=repeats)
  t_rolled = rows[1]["ours_ms"] / 1e3

  # An 8-radius curve: one vmapped program vs 8 calls of one compiled attack.
  eps = [LINF * i / 8 for i in range(1, 9)]
  # `attacks.sweep` itself cannot be traced by jit (its eps validation calls
  # bool() on a traced array): stack outside, then jit sweep's own vmap.
  stacked = attacks.stack_eps(pgd, eps)
  sweep = jax.jit(lambda stacked, x, y, key: jax.vmap(
      lambda a: a(logits_fn, x, y, key=key))(stacked))
  t_sweep = _timing.median_seconds(lambda: sweep(stacked, x, y, key), repeats=repeats)
  singles = [pgd.replace(eps=e, step_size=e / 4) for e in eps]
  t_separate = _timing.median_seconds(
      lambda: [jit_attack(a, x, y, key) for a in singles], repeats=repeats)

  extras = {
      "input_grad_ms_ours": 1e3 * t_fb_ours, "input_grad_ms_peer": 1e3 * t_fb_peer,
      f"pgd{k}_linf_fori_ms": 1e3 * t_rolled, f"pgd{k}_linf_unrolled_ms": 1e3 * t_unrolled,
      "unrolled_speedup": t_rolled / t_unrolled,
      "sweep8_ms": 1e3 * t_sweep, "separate8_ms": 1e3 * t_separate,
      "sweep_speedup": t_separate / t_sweep,
      "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
      "torchattacks": torchattacks.__version__, "notes": notes,
  }
  _timing.print_table(rows, ["attack", "steps", "batch", "ours_ms", "peer_ms", "ours_img_s",
                             "peer_img_s", "speedup", "ours_vs_limit", "peer_vs_limit",
                             "peer_forwards"])
  for name, value in extras.items():
    print(f"{name}: {value:.3f}" if isinstance(value, float) else f"{name}: {value}")
  path = _timing.write_results("attacks", rows, _OUT.value)
  with open(path) as f:
    payload = json.load(f)
  payload["extras"] = extras
  with open(path, "w") as f:
    json.dump(payload, f, indent=2)
  print("wrote", path)


if __name__ == "__main__":
  app.run(main)
