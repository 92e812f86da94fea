r"""Attacks side by side with torchattacks, and against their physical limit.

Same architecture (SmallCNN), same weights (converted exactly to a torch twin,
tests/peers/torch_models.py) and the same batch of mnist5k images. Ours run
jitted on XLA CPU; the peer (torchattacks) on torch CPU with
`torch.set_num_threads(2)`; ours and the peer are timed in rotation
(`_timing.interleaved_median_seconds`), so a drift in machine load hits both.
For each attack: seconds per call of both, their ratio, and the limit ratio
time(attack of k steps) / (k * time(one forward+backward w.r.t. the input)) of
each framework against its own forward+backward (1.0 is the limit). Two rows
compare ours with ours:
  - PGD-10 with its step loop unrolled (the default, `attacks._core.step_loop`)
    against the same attack traced with a rolled `fori_loop`;
  - an 8-radius robustness curve in one call (`attacks.sweep`, both of its
    strategies: "sequential", the default on CPU, and "vmap", the default on
    accelerators) against 8 separate calls of one compiled attack.

  python -m bench.attacks [--batch_size=256] [--steps=10] [--cw_steps=50] [--quick]

Needs the peers for their columns: pip install -r requirements-peers.txt
"""

from __future__ import annotations

import functools
import importlib
import unittest.mock

from absl import app, flags

import jax
import jax.numpy as jnp
import numpy as np

from bench import _timing
from jaxrobust import attacks, data, models
from jaxrobust.losses import cross_entropy

sweep_module = importlib.import_module("jaxrobust.attacks.sweep")  # the name is the function

_BATCH = flags.DEFINE_integer("batch_size", 256, "Images per attack call.")
_STEPS = flags.DEFINE_integer("steps", 10, "PGD iterations.")
_CW_STEPS = flags.DEFINE_integer("cw_steps", 50, "CW Adam steps.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed calls per measurement (median).")
_QUICK = flags.DEFINE_bool("quick", False, "The reduced sizes of `python -m bench --quick`.")
_OUT = flags.DEFINE_string("out", "bench/results", "Directory for the JSON results.")

LINF, L2 = 0.1, 1.5
RADII = 8


class _CountingModel:
  """Counts the rows through the torch twin (torchattacks' CW may stop early)."""

  def __init__(self, module):
    self.rows = 0
    module.register_forward_hook(
        lambda m, inputs, out: setattr(self, "rows", self.rows + inputs[0].shape[0]))


def measure(batch: int, k: int, cw_steps: int, repeats: int) -> list[dict]:
  """Every row of this bench (the interface of bench/__main__.py)."""
  ds = data.load("mnist5k", "train")
  model = models.make("small_cnn", num_classes=10, mean=ds.info.mean, std=ds.info.std)
  variables = model.init(jax.random.key(0), jnp.zeros((1,) + tuple(ds.info.input_shape)))
  logits_fn = models.as_logits_fn(model, variables)
  x = data.to_float(ds.images[:batch])
  y = jnp.asarray(ds.labels[:batch])
  key = jax.random.key(0)
  size = f"small_cnn, batch {batch}"

  torch, torchattacks = _timing.import_peer("torch", "torchattacks") or (None, None)
  peer_name = _timing.peer_name("torchattacks")

  grad_x = jax.jit(jax.grad(lambda z: cross_entropy(logits_fn(z), y).sum()))
  jit_attack = jax.jit(lambda attack, x, y, key: attack(logits_fn, x, y, key=key))
  cases = [
      ("FGSM", 1, attacks.FGSM(eps=LINF),
       lambda twin: torchattacks.FGSM(twin, eps=LINF)),
      (f"PGD-{k} Linf", k, attacks.PGD(eps=LINF, step_size=LINF / 4, steps=k),
       lambda twin: torchattacks.PGD(twin, eps=LINF, alpha=LINF / 4, steps=k)),
      (f"PGD-{k} L2", k, attacks.PGD(eps=L2, step_size=L2 / 4, steps=k, norm="l2"),
       lambda twin: torchattacks.PGDL2(twin, eps=L2, alpha=L2 / 4, steps=k)),
      (f"CW-{cw_steps}", cw_steps, attacks.CW(c=1.0, steps=cw_steps, learning_rate=0.01),
       lambda twin: torchattacks.CW(twin, c=1.0, steps=cw_steps, lr=0.01)),
  ]

  fns = {"fb": lambda: grad_x(x)}
  compile_s = {}
  for name, _, ours, _ in cases:
    fns[name] = functools.partial(jit_attack, ours, x, y, key)
    compile_s[name] = _timing.first_call_seconds(fns[name])
  counter = None
  if torch is not None:
    from tests.peers.torch_models import nhwc_to_nchw, to_torch
    torch.set_num_threads(2)
    twin = to_torch(model, variables)
    counter = _CountingModel(twin)
    xt, yt = nhwc_to_nchw(x), torch.from_numpy(np.array(y)).long()

    def torch_fb():
      z = xt.clone().requires_grad_(True)
      loss = torch.nn.functional.cross_entropy(twin(z), yt)
      return torch.autograd.grad(loss, z)[0]
    fns["peer fb"] = torch_fb
    for name, _, _, make_peer in cases:
      fns["peer " + name] = functools.partial(make_peer(twin), xt, yt)
  # The peer's rows per call: counted over one untimed call of each.
  peer_rows = {}
  if counter is not None:
    for name, _, _, _ in cases:
      counter.rows = 0
      fns["peer " + name]()
      peer_rows[name] = counter.rows / batch
  t = _timing.interleaved_median_seconds(fns, repeats=repeats, warmup=1)

  out = []
  for name, steps, _, _ in cases:
    kw = dict(limit_ratio=t[name] / (steps * t["fb"]), compile_s=compile_s[name] - t[name],
              passes_ours=float(steps), peer=peer_name,
              peer_status="ok" if torch is not None else "not installed")
    if torch is not None:
      kw.update(peer_s=t["peer " + name], passes_peer=peer_rows[name],
                peer_limit_ratio=t["peer " + name] / (steps * t["peer fb"]))
      if name.startswith("CW") and peer_rows[name] < steps:
        kw["note"] = (f"torchattacks' CW stopped early after {peer_rows[name]:.0f} of {steps} "
                      "forwards (its cost check every steps // 10 steps); ours runs all steps")
    out.append(_timing.row("attacks", f"{name}, {size}", t[name], **kw))

  # PGD-k traced with a rolled fori_loop (the library's loop before; same math):
  # the library's `unroll` argument is overridden while tracing.
  real_fori = jax.lax.fori_loop
  rolled_fori = lambda lower, upper, body, init, unroll=None: real_fori(lower, upper, body, init)
  pgd = cases[1][2]
  with unittest.mock.patch.object(jax.lax, "fori_loop", rolled_fori):
    rolled = jax.jit(lambda x, y, key: pgd(logits_fn, x, y, key=key))
    t_rolled_first = _timing.first_call_seconds(lambda: rolled(x, y, key))
  t_u = _timing.interleaved_median_seconds(
      {"unrolled": fns[cases[1][0]], "rolled": lambda: rolled(x, y, key), "fb": fns["fb"]},
      repeats=repeats, warmup=1)
  out.append(_timing.row("attacks", f"PGD-{k} Linf unrolled (default) vs rolled fori_loop, {size}",
                  t_u["unrolled"], peer="ours, rolled fori_loop", peer_s=t_u["rolled"],
                  peer_status="ok", limit_ratio=t_u["unrolled"] / (k * t_u["fb"]),
                  peer_limit_ratio=t_u["rolled"] / (k * t_u["fb"]),
                  compile_s=compile_s[cases[1][0]] - t_u["unrolled"],
                  note=f"rolled: compile {t_rolled_first - t_u['rolled']:.2f} s"))

  # An 8-radius curve in one call (both strategies) vs 8 calls of one compiled attack.
  eps = [LINF * i / RADII for i in range(1, RADII + 1)]
  curves, compile_curve = {}, {}
  for strategy in ("sequential", "vmap"):
    curves[strategy] = functools.partial(jax.jit(functools.partial(
        attacks.sweep, pgd, logits_fn, eps=eps, strategy=strategy)), x, y, key=key)
    compile_curve[strategy] = _timing.first_call_seconds(curves[strategy])
  stacked = attacks.stack_eps(pgd, eps)
  singles = [jax.tree.map(lambda leaf: leaf[i], stacked) for i in range(RADII)]
  t_c = _timing.interleaved_median_seconds(
      {**curves, "separate": lambda: [jit_attack(a, x, y, key) for a in singles],
       "fb": fns["fb"]}, repeats=repeats, warmup=1)
  for strategy in ("sequential", "vmap"):
    default = " (the default here)" if strategy == sweep_module.resolve_strategy("auto") else ""
    out.append(_timing.row("attacks",
        f"{RADII}-radius PGD-{k} Linf curve, one call ({strategy}{default}) vs {RADII} calls, "
        f"{size}", t_c[strategy], peer=f"ours, {RADII} separate calls", peer_s=t_c["separate"],
        peer_status="ok", limit_ratio=t_c[strategy] / (RADII * k * t_c["fb"]),
        peer_limit_ratio=t_c["separate"] / (RADII * k * t_c["fb"]),
        compile_s=compile_curve[strategy] - t_c[strategy]))
  return out


def rows(quick: bool) -> list[dict]:
  """quick: batch 64, CW-20, 3 repeats; full: batch 256, PGD-10, CW-50, 5 repeats."""
  if quick:
    return measure(batch=64, k=10, cw_steps=20, repeats=3)
  return measure(batch=256, k=10, cw_steps=50, repeats=5)


def main(argv):
  del argv
  if _QUICK.value:
    out = rows(quick=True)
  else:
    out = measure(_BATCH.value, _STEPS.value, _CW_STEPS.value, _REPEATS.value)
  _timing.print_table(out, ["case", "ours_s", "peer_s", "speedup", "limit_ratio",
                            "peer_limit_ratio", "compile_s", "passes_peer"])
  for row in out:
    if row["note"]:
      print(f"{row['case']}: {row['note']}")
  print("wrote", _timing.write_results("attacks", out, _OUT.value))


if __name__ == "__main__":
  app.run(main)
