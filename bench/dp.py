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

Poisson sampling (`rows` only; ours alone): the training driver's step
(jaxrobust.train.dp.make_dp_step, ghost clipping) on experiments.dp_train's
model (small_cnn) at q * N = 256 of the 4,000 mnist5k training images, as one
jitted scan over a run of steps, padded to the
one physical size (overflow <= 1e-12) or to the smallest bucket that holds
each step (privacy.sampling.bucket_sizes); its limit is the fixed-size step at
the expected batch.

  python -m bench.dp [--batch_size=256] [--microbatch_size=32] [--out=bench/results]
"""

from __future__ import annotations

import functools
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
from jaxrobust import data, models
from jaxrobust.losses import cross_entropy
from jaxrobust.optim.dp import dp_sat, dp_sgd
from jaxrobust.privacy import sampling
from jaxrobust.privacy.clipping import clipped_grad_sum
from jaxrobust.train import dp as train_dp
from jaxrobust.train.state import init_state


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so `python -m bench` can import every bench."""
  flags.DEFINE_integer("batch_size", 256, "Examples per step.")
  flags.DEFINE_integer("microbatch_size", 32, "vmap mode: examples per chunk.")
  flags.DEFINE_integer("repeats", 5, "Timed repetitions (median).")
  flags.DEFINE_string("out", "bench/results", "Directory for the JSON results.")


FLAGS = flags.FLAGS

CLIP, SIGMA, LR = 1.0, 1.0, 0.1


class MnistNet(nn.Module):
  """PyTorch's examples/mnist Net without dropout; inputs [b, 28, 28, 1]."""

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train  # no dropout or BatchNorm: the same function in training
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


def bench_ours(x, y, micro: int, repeats: int, vmap: bool = True) -> dict:
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
  # The first call of each step apart (compile or persistent-cache read + one run);
  # the three steps whose ratios are the targets are then timed in rotation.
  t = {"compile_nonprivate": _timing.first_call_seconds(lambda: nonprivate(params, s0))}
  tic = time.perf_counter()
  ghost = dp_step(dp_sgd(CLIP, SIGMA, b, key), "ghost")
  t["compile_dp_ghost"] = time.perf_counter() - tic
  t.update(_timing.interleaved_median_seconds({
      "ours_nonprivate": lambda: nonprivate(params, s0),
      "ours_dp_ghost": ghost,
      "ours_dpsat_ghost": dp_step(dp_sat(0.05, CLIP, SIGMA, b, key), "ghost"),
  }, repeats))
  if vmap:
    t["ours_dp_vmap"] = _timing.median_seconds(
        dp_step(dp_sgd(CLIP, SIGMA, b, key), "vmap", micro), repeats)
  return t


def bench_poisson(expected_batch: int, steps: int, repeats: int,
                  tail_probs=train_dp.DEFAULT_BUCKET_TAIL_PROBS) -> dict:
  """Seconds per DP-SGD step (ghost) of the training driver under Poisson sampling.

  `steps` steps in one jitted scan (as an epoch runs), padded to the physical
  size ("padded") or bucketed ("bucketed"); "fixed" is the same step on a
  fixed batch of the expected size (the limit). Returns seconds per step,
  the sizes and the mean count.
  """
  ds = data.load("mnist5k", "train")
  images, labels = jnp.asarray(ds.images), jnp.asarray(ds.labels)
  n = len(ds.labels)
  q = expected_batch / n
  model = models.make("small_cnn", num_classes=10, mean=ds.info.mean, std=ds.info.std)
  tx = optax.chain(dp_sgd(CLIP, SIGMA, expected_batch, jax.random.key(1)), optax.sgd(LR))
  state = init_state(model, tx, ds.info.input_shape, jax.random.key(0))
  physical = sampling.physical_batch_size(n, q)
  sizes = {"padded": [physical], "bucketed": list(sampling.bucket_sizes(n, q, tail_probs))}
  runs, out = {}, {"sizes": sizes}
  for name, buckets in sizes.items():
    step = train_dp.make_dp_step(
        model, tx, images, labels, l2_clip=CLIP, mode="ghost", microbatch_size=0,
        plan_={"sampling_prob": q, "physical_batch_size": physical, "bucket_sizes": buckets})
    epoch = jax.jit(train_dp.make_dp_epoch(step, steps, jax.random.key(2)))
    runs[name] = functools.partial(epoch, state, 1)
    out[f"compile_{name}"] = _timing.first_call_seconds(runs[name])
  # The limit: no padding at all, the same step on exactly the expected batch.
  fixed = train_dp.make_dp_step(
      model, tx, images[:expected_batch], labels[:expected_batch], l2_clip=CLIP,
      mode="ghost", microbatch_size=0,
      plan_={"sampling_prob": 1.0, "physical_batch_size": expected_batch})
  runs["fixed"] = functools.partial(
      jax.jit(train_dp.make_dp_epoch(fixed, steps, jax.random.key(2))), state, 1)
  out["mean_count"] = float(jax.device_get(runs["padded"]()[1]["count"])) / steps
  t = _timing.interleaved_median_seconds(runs, repeats, warmup=1)
  out.update({k: v / steps for k, v in t.items()})
  return out


def rows(quick: bool) -> list[dict]:
  """The `python -m bench` rows: DP steps vs our non-private step and Opacus, Poisson padding."""
  b, repeats = (128, 3) if quick else (256, 5)
  ds = data.load("mnist5k", "train")
  x = data.to_float(ds.images[:b])
  y = jnp.asarray(ds.labels[:b])
  # vmap mode's per-example gradients are the slow path: full runs only.
  t = bench_ours(x, y, 32, repeats, vmap=not quick)
  peers = _timing.import_peer("torch", "opacus")
  if peers is not None:
    t.update(bench_torch(x, y, repeats))
  peer = _timing.peer_name("opacus")
  status = "ok" if peers else "not installed"
  tp = lambda k: t.get(k)  # noqa: E731  (None when the peer is missing)
  ratio = lambda a, c: t[a] / t[c] if a in t and c in t else None  # noqa: E731
  net = f"PyTorch MNIST example net, batch {b}"
  out = [
      _timing.row("dp", f"non-private step, {net}", t["ours_nonprivate"],
                  peer=_timing.peer_name("torch"), peer_s=tp("torch_nonprivate"),
                  peer_status=status, compile_s=t["compile_nonprivate"],
                  note="peer: torch forward+backward+SGD"),
      _timing.row("dp", f"DP-SGD ghost step, {net}", t["ours_dp_ghost"], peer=peer,
                  peer_s=tp("opacus_ghost"), peer_status=status,
                  limit_ratio=ratio("ours_dp_ghost", "ours_nonprivate"),
                  peer_limit_ratio=ratio("opacus_ghost", "torch_nonprivate"),
                  compile_s=t["compile_dp_ghost"],
                  note="limit: the framework's own non-private step"),
      _timing.row("dp", f"DP-SAT ghost step, {net}", t["ours_dpsat_ghost"],
                  limit_ratio=ratio("ours_dpsat_ghost", "ours_dp_ghost"),
                  note="limit: our DP-SGD ghost step (DP-SAT adds no pass)")]
  if "ours_dp_vmap" in t:
    out.append(_timing.row(
        "dp", f"DP-SGD vmap step (micro-batch 32), {net}", t["ours_dp_vmap"], peer=peer,
        peer_s=tp("opacus_hooks"), peer_status=status,
        limit_ratio=ratio("ours_dp_vmap", "ours_nonprivate"),
        peer_limit_ratio=ratio("opacus_hooks", "torch_nonprivate"),
        note="peer: Opacus hooks (per-example gradients)"))
  p = bench_poisson(256, 4 if quick else 32, 2 if quick else repeats)
  for name in ("padded", "bucketed"):
    out.append(_timing.row(
        "dp", f"DP-SGD ghost Poisson step (small_cnn), q*N=256 of 4000, {name} to "
        f"{'/'.join(map(str, p['sizes'][name]))}", p[name],
        limit_ratio=p[name] / p["fixed"], compile_s=p[f"compile_{name}"],
        note=f"limit: the step on a fixed batch of 256; mean count {p['mean_count']:.0f}; "
             f"bucketed/padded {p['bucketed'] / p['padded']:.2f}"))
  return out


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
  b = FLAGS.batch_size
  x = data.to_float(ds.images[:b])
  y = jnp.asarray(ds.labels[:b])
  t = bench_ours(x, y, FLAGS.microbatch_size, FLAGS.repeats)
  t.update(bench_torch(x, y, FLAGS.repeats))
  row = {"batch": b, "microbatch_size": FLAGS.microbatch_size,
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
  print("wrote", _timing.write_results("dp", [row], FLAGS.out))


if __name__ == "__main__":
  define_flags()
  app.run(main)
