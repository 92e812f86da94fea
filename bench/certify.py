r"""Bound time per point: our IBP, CROWN, CROWN-IBP and alpha-CROWN against bound-propagation.

The same ReLU MLP (random weights, digits-sized inputs 8x8, hidden widths per case) in both:
ours through `certify.logit_bounds` (jitted, one call for the batch), bound-propagation
0.4.7 on its torch twin (the input normalization folded into the first Linear layer)
over the same box, side by side in one run. The limit of IBP is two forward passes of
the batch (centre and radius); the other methods have no such floor and report none.

  python -m bench.certify [--batch=64] [--widths=64,256,1024] [--out=bench/results]
"""

from __future__ import annotations

import numpy as np
from absl import app, flags
import jax
import jax.numpy as jnp

from bench import _timing
from jaxrobust import certify, models

METHODS = {"ibp": ("ibp", {}), "crown": ("crown", {}), "crown_ibp": ("crown_ibp", {}),
           "alpha_crown": ("crown", {"alpha": True})}
EPS = 0.05


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so `python -m bench` can import every bench."""
  flags.DEFINE_integer("batch", 64, "Points bounded per call.")
  flags.DEFINE_list("widths", ["64", "256", "1024"], "Hidden width of the two-layer MLP.")
  flags.DEFINE_string("out", "bench/results", "Directory for the JSON results.")


def torch_twin(variables, mean: float, std: float, torch, bp, spec=None):
  """bound-propagation's model of our MLP: the input normalization folded into the first
  Linear layer, and a spec [S, classes] (margins) into the last one when given (affine maps
  beside the ReLUs: every method's bounds are unchanged)."""
  params = variables["params"]
  names = sorted(params, key=lambda n: int(n.split("_")[1]))
  layers = []
  for i, name in enumerate(names):
    w = np.asarray(params[name]["kernel"], np.float64)
    b = np.asarray(params[name]["bias"], np.float64)
    if i == 0:
      w, b = w / std, b - (mean / std) * w.sum(0)
    if i == len(names) - 1 and spec is not None:
      w, b = w @ spec.T, spec @ b
    linear = torch.nn.Linear(*w.shape)
    linear.weight.data = torch.tensor(w.T, dtype=torch.float32)
    linear.bias.data = torch.tensor(b, dtype=torch.float32)
    layers += [linear, torch.nn.ReLU()]
  return bp.BoundModelFactory(adaptive_relu=True).build(torch.nn.Sequential(*layers[:-1]))


def bench_width(width: int, batch: int, repeats: int) -> list[dict]:
  """One row per method: seconds per bounded point, ours and bound-propagation's."""
  model = models.make("mlp", num_classes=10, mean=(0.3,), std=(0.3,), hidden=(width, width))
  x = jax.random.uniform(jax.random.key(0), (batch, 8, 8, 1))
  variables = model.init(jax.random.key(1), x)
  net = certify.network(model, variables, x.shape[1:])
  forward = jax.jit(models.as_logits_fn(model, variables))
  bounds = jax.jit(certify.logit_bounds, static_argnames="method")
  fns = {m: (lambda m=m: bounds(net, x, EPS, method=m)) for m in METHODS}
  fns["forward"] = lambda: forward(x)
  peers = _timing.import_peer("torch", "bound_propagation")
  if peers:
    torch, bp = peers
    twin = torch_twin(variables, 0.3, 0.3, torch, bp)
    lo, hi = (np.asarray(a.reshape(batch, -1)) for a in certify._walk.input_box(x, EPS))
    region = bp.HyperRectangle(torch.tensor(lo), torch.tensor(hi))

    def peer(call, options):
      def run():
        with torch.set_grad_enabled(bool(options)):  # alpha-CROWN optimises by autograd
          out = getattr(twin, call)(region, **options)
          return out if call == "ibp" else out.concretize()
      return run

    fns.update({f"peer_{m}": peer(*METHODS[m]) for m in METHODS})
  seconds = _timing.interleaved_median_seconds(fns, repeats=repeats, warmup=1)
  rows = []
  for m in METHODS:
    peer_s = seconds.get(f"peer_{m}")
    rows.append(_timing.row(
        "certify", f"{m} logit bounds (MLP {width}-{width}, {batch} points, Linf {EPS})",
        seconds[m] / batch, peer=_timing.peer_name("bound_propagation") if peers else None,
        peer_s=None if peer_s is None else peer_s / batch,
        peer_status="ok" if peers else "not installed",
        limit_ratio=seconds[m] / (2 * seconds["forward"]) if m == "ibp" else None,
        note="seconds per point; IBP's limit: 2 forward passes of the batch"))
  return rows


def rows(quick: bool) -> list[dict]:
  """The `python -m bench` rows."""
  widths = (64, 256) if quick else (64, 256, 1024)
  return [r for w in widths for r in bench_width(w, 64, 3 if quick else 10)]


def main(argv):
  del argv
  out = [r for w in flags.FLAGS.widths
         for r in bench_width(int(w), flags.FLAGS.batch, 10)]
  _timing.print_table(out, ["case", "ours_s", "peer_s", "speedup", "limit_ratio"])
  print("wrote", _timing.write_results("certify", out, flags.FLAGS.out))


if __name__ == "__main__":
  define_flags()
  app.run(main)
