r"""DP training step cost: ours vs non-private, vs Opacus, and DP-SAT vs DP-SGD.

Model: the classic PyTorch MNIST example CNN (conv 32 3x3 -> conv 64 3x3 ->
max-pool 2 -> dense 9216x128 -> dense 10, no dropout), defined in both
frameworks below, batch 256 of mnist5k images, one run, side by side:

  ours_nonprivate   grad of the mean loss + SGD update (jit)
  ours_dp_ghost     DP-SGD step, ghost clipping (no per-example gradients)
  ours_dp_vmap      DP-SGD step, per-example gradients by vmap in micro-batches
  ours_dpsat_ghost  DP-SAT step, ghost clipping
  torch_nonprivate  forward + backward + SGD step
  opacus_hooks      Opacus GradSampleModule (hooks) + DPOptimizer step
  opacus_ghost      Opacus fast gradient clipping (grad_sample_mode="ghost")

Per-example gradients of the 9216x128 layer alone are 1.2 GB at batch 256,
which is why the vmap mode runs in micro-batches here. Both frameworks do
fixed-size batches (no Poisson sampling) so the same work is timed.

  python -m bench.dp [--batch_size=256] [--microbatch_size=32] [--out=bench/results]
"""

from __future__ import annotations

import os
import statistics
import time

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import app, flags

from bench import _timing
from jaxrobust import data
from jaxrobust.losses import cross_entropy
from jaxrobust.optim.dp import dp_sat, dp_sgd
from jaxrobust.privacy.clipping import clipped_grad_sum

_BATCH = flags.DEFINE_integer("batch_size", 256, "Examples per step.")
_MICRO = flags.DEFINE_integer("microbatch_size", 32, "vmap mode: examples per chunk.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed repetitions (median).")
_OUT = flags.DEFINE_string("out", "bench/results", "Directory for the JSON results.")

CLIP, SIGMA, LR = 1.0, 1.0, 0.1


class MnistNet(nn.Module):
  """PyTorch's examples/mnist Net without dropout; inputs [b, 28, 28, 1]."""

  @nn.compact
  def __call__(self, x):
    x = nn.relu(nn.Conv(32, (3, 3), padding="VALID")(x))
    x = nn.relu(nn.Conv(64, (3, 3), padding="VALID")(x))
    x = nn.max_pool(x, (2, 2), strides=(2, 2))
    # torch flattens NCHW: transpose so the 9216 features line up for the twin.
    x = jnp.transpose(x, (0, 3, 1, 2)).reshape(x.shape[0], -1)
    x = nn.relu(nn.Dense(128)(x))
    return nn.Dense(10)(x)


def _torch_net():
  import torch
  from torch import nn as tnn

  class Net(tnn.Module):
    def __init__(self):
      super().__init__()
      self.conv1 = tnn.Conv2d(1, 32, 3, 1)
      self.conv2 = tnn.Conv2d(32, 64, 3, 1)
      self.fc1 = tnn.Linear(9216, 128)
      self.fc2 = tnn.Linear(128, 10)

    def forward(self, x):
      x = torch.relu(self.conv1(x))
      x = torch.relu(self.conv2(x))
      x = torch.flatten(torch.max_pool2d(x, 2), 1)
      return self.fc2(torch.relu(self.fc1(x)))

  return Net()


def _median_torch(fn, repeats: int, warmup: int = 2) -> float:
  for _ in range(warmup):
    fn()
  times = []
  for _ in range(repeats):
    tic = time.perf_counter()
    fn()
    times.append(time.perf_counter() - tic)
  return statistics.median(times)


def bench_ours(x, y, micro: int, repeats: int) -> dict:
  model = MnistNet()
  params = model.init(jax.random.key(0), x[:1])["params"]
  b = x.shape[0]
  loss_fn = lambda p, batch: cross_entropy(model.apply({"params": p}, batch[0]), batch[1])
  mask = jnp.ones(b)
  key = jax.random.key(1)

  sgd = optax.sgd(LR)

  @jax.jit
  def nonprivate(p, s):
    g = jax.grad(lambda q: loss_fn(q, (x, y)).mean())(p)
    u, s = sgd.update(g, s, p)
    return optax.apply_updates(p, u), s

  def dp_step(private, mode, microbatch=None):
    tx = optax.chain(private, sgd)

    @jax.jit
    def step(p, s):
      grad_fn = lambda q: clipped_grad_sum(loss_fn, q, (x, y), mask, l2_clip=CLIP,
                                           mode=mode, microbatch_size=microbatch)[0]
      u, s = tx.update(None, s, p, grad_fn=grad_fn)
      return optax.apply_updates(p, u), s

    # Time a step from the state after one step: DP-SAT's first step is plain
    # DP-SGD (no privatised gradient to ascend along yet).
    p1, s1 = step(params, tx.init(params))
    return lambda: step(p1, s1)

  s0 = sgd.init(params)
  # The three steps whose ratios are the targets are timed in rotation.
  t = _timing.interleaved_median_seconds({
      "ours_nonprivate": lambda: nonprivate(params, s0),
      "ours_dp_ghost": dp_step(dp_sgd(CLIP, SIGMA, b, key), "ghost"),
      "ours_dpsat_ghost": dp_step(dp_sat(0.05, CLIP, SIGMA, b, key), "ghost"),
  }, repeats)
  t["ours_dp_vmap"] = _timing.median_seconds(
      dp_step(dp_sgd(CLIP, SIGMA, b, key), "vmap", micro), repeats)
  return t


def bench_torch(x, y, repeats: int) -> dict:
  import torch
  from opacus import PrivacyEngine
  from torch.utils.data import DataLoader, TensorDataset

  xt = torch.from_numpy(np.asarray(x)).permute(0, 3, 1, 2).contiguous()
  yt = torch.from_numpy(np.asarray(y)).long()
  loader = DataLoader(TensorDataset(xt, yt), batch_size=len(yt))
  crit = torch.nn.CrossEntropyLoss()
  t = {}

  net = _torch_net()
  opt = torch.optim.SGD(net.parameters(), lr=LR)

  def plain():
    opt.zero_grad()
    crit(net(xt), yt).backward()
    opt.step()

  t["torch_nonprivate"] = _median_torch(plain, repeats)

  for mode in ("hooks", "ghost"):
    torch.manual_seed(0)
    net = _torch_net()
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    out = PrivacyEngine().make_private(
        module=net, optimizer=opt, criterion=torch.nn.CrossEntropyLoss(),
        data_loader=loader, noise_multiplier=SIGMA, max_grad_norm=CLIP,
        poisson_sampling=False, grad_sample_mode=mode)
    if mode == "ghost":
      pnet, popt, pcrit, _ = out
    else:
      (pnet, popt, _), pcrit = out, crit

    def private(pnet=pnet, popt=popt, pcrit=pcrit):
      popt.zero_grad()
      pcrit(pnet(xt), yt).backward()
      popt.step()

    t[f"opacus_{mode}"] = _median_torch(private, repeats)
  return t


def main(argv):
  del argv
  import opacus
  import torch
  ds = data.load("mnist5k", "train")
  b = _BATCH.value
  x = data.to_float(ds.images[:b])
  y = jnp.asarray(ds.labels[:b])
  t = bench_ours(x, y, _MICRO.value, _REPEATS.value)
  t.update(bench_torch(x, y, _REPEATS.value))
  row = {"batch": b, "microbatch_size": _MICRO.value,
         # Shared CPUs: ratios mean little when the load exceeds the core count.
         "load_average_1min": os.getloadavg()[0], "torch": torch.__version__,
         "opacus": opacus.__version__, "torch_threads": torch.get_num_threads(),
         **{f"{k}_ms": 1e3 * v for k, v in t.items()},
         "dp_ghost_over_nonprivate": t["ours_dp_ghost"] / t["ours_nonprivate"],
         "dp_vmap_over_nonprivate": t["ours_dp_vmap"] / t["ours_nonprivate"],
         "dpsat_over_dpsgd_ghost": t["ours_dpsat_ghost"] / t["ours_dp_ghost"],
         "ours_ghost_over_opacus_hooks": t["ours_dp_ghost"] / t["opacus_hooks"],
         "ours_ghost_over_opacus_ghost": t["ours_dp_ghost"] / t["opacus_ghost"],
         "ours_vmap_over_opacus_hooks": t["ours_dp_vmap"] / t["opacus_hooks"],
         "opacus_hooks_over_torch": t["opacus_hooks"] / t["torch_nonprivate"],
         "opacus_ghost_over_torch": t["opacus_ghost"] / t["torch_nonprivate"],
         "ours_nonprivate_over_torch": t["ours_nonprivate"] / t["torch_nonprivate"]}
  for k, v in row.items():
    print(f"{k:32s} {v:.3f}" if isinstance(v, float) else f"{k:32s} {v}")
  print("wrote", _timing.write_results("dp", [row], _OUT.value))


if __name__ == "__main__":
  app.run(main)
