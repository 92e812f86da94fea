r"""Train-step time of SAM, ASAM and PSATT relative to their base optimizer.

SAM and ASAM take a second forward-backward pass (ideal: 2x the base step);
PSATT takes none (ideal: 1x). All steps are the library's make_train_step
(standard training) on the same model, batch and key, timed side by side in
interleaved rounds of one run, so machine load affects them alike.
Targets: SAM <= 2.05x, PSATT <= 1.10x. The peer (`rows`): optax.contrib.sam
configured as plain SAM (as in tests/optim/test_sam.py), the same train step.

  python -m bench.sam [--batch_size=100] [--models=small_cnn,mlp] [--out=bench/results]
"""

from __future__ import annotations

import statistics
import time

from absl import app, flags
import jax
import optax

from bench import _timing
from jaxrobust import data, defenses, models, train
from jaxrobust.optim.psatt import psatt
from jaxrobust.optim.sam import asam, sam


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so `python -m bench` can import every bench."""
  flags.DEFINE_integer("batch_size", 100, "Examples per step.")
  flags.DEFINE_string("out", "bench/results", "Directory for the JSON results.")
  flags.DEFINE_list("models", ["small_cnn", "mlp"], "Models to bench.")
  flags.DEFINE_integer("rounds", 5, "Interleaved timing rounds.")


FLAGS = flags.FLAGS
TARGETS = {"sam": 2.05, "psatt": 1.10}
# The limit of each step, in base steps: SAM and ASAM take a second gradient.
PASSES = {"adam": 1, "sam": 2, "asam": 2, "psatt": 1, "optax_sam": 2}
RHO = 0.05


def optax_contrib_sam(base: optax.GradientTransformation, rho: float):
  """optax.contrib.sam as plain SAM: one normalised ascent step of length rho, then
  the base update at the original weights (opaque mode calls grad_fn(params, i))."""
  adversary = optax.chain(optax.contrib.normalize(), optax.sgd(rho))
  return optax.contrib.sam(base, adversary, sync_period=2, opaque_mode=True)


def median_times(fn, repeats: int = 10, warmup: int = 2) -> tuple[float, float]:
  """Median (wall, process CPU) seconds of fn(). CPU time (all threads) is the
  less load-sensitive figure on a shared machine; both are reported."""
  for _ in range(warmup):
    jax.block_until_ready(fn())
  walls, cpus = [], []
  for _ in range(repeats):
    wall, cpu = time.perf_counter(), time.process_time()
    jax.block_until_ready(fn())
    walls.append(time.perf_counter() - wall)
    cpus.append(time.process_time() - cpu)
  return statistics.median(walls), statistics.median(cpus)


def bench_model(name: str, batch: int, rounds: int, repeats: int = 10,
                peer: bool = False) -> list[dict]:
  """Step times of adam, sam, asam, psatt (and optax.contrib.sam with peer=True)."""
  ds = data.load("mnist5k", "train")
  model = models.make(name, num_classes=10, mean=ds.info.mean, std=ds.info.std)
  base = lambda: optax.adam(1e-3)
  txs = {"adam": base(), "sam": sam(base(), RHO), "asam": asam(base(), 0.5),
         "psatt": psatt(base(), RHO)}
  if peer:
    txs["optax_sam"] = optax_contrib_sam(base(), RHO)
  images, labels = ds.images[:batch], ds.labels[:batch]
  key = jax.random.key(0)
  calls, compiles = {}, {}
  for opt, tx in txs.items():
    state = train.init_state(model, tx, ds.info.input_shape, jax.random.key(0))
    step = jax.jit(train.make_train_step(model, defenses.Standard(), tx))
    calls[opt] = (lambda step=step, state=state: step(state, (images, labels), key)[0])
    compiles[opt] = _timing.first_call_seconds(calls[opt])
  walls, cpus = {opt: [] for opt in txs}, {opt: [] for opt in txs}
  for _ in range(rounds):  # interleaved, so load drifts hit every optimizer alike
    for opt, call in calls.items():
      wall, cpu = median_times(call, repeats)
      walls[opt].append(wall)
      cpus[opt].append(cpu)
  base_wall, base_cpu = statistics.median(walls["adam"]), statistics.median(cpus["adam"])
  rows = []
  for opt in txs:
    wall, cpu = statistics.median(walls[opt]), statistics.median(cpus[opt])
    rows.append({"model": name, "batch": batch, "optimizer": opt, "step_ms": 1e3 * wall,
                 "vs_base": wall / base_wall, "cpu_ms": 1e3 * cpu, "cpu_vs_base": cpu / base_cpu,
                 "target": TARGETS.get(opt), "compile_s": compiles[opt],
                 "meets_target": (wall / base_wall <= TARGETS[opt]) if opt in TARGETS else None})
  return rows


def rows(quick: bool) -> list[dict]:
  """The `python -m bench` rows: each optimizer's step against its limit (k base steps);
  SAM also against optax.contrib.sam (same train step, model and batch)."""
  names = ["small_cnn"] if quick else ["small_cnn", "mlp"]
  out = []
  for name in names:
    got = {r["optimizer"]: r for r in bench_model(name, 100, 2 if quick else 5,
                                                  repeats=5 if quick else 10, peer=True)}
    base_s = got["adam"]["step_ms"] / 1e3
    for opt in ("adam", "sam", "asam", "psatt"):
      r = got[opt]
      peer = opt == "sam"
      out.append(_timing.row(
          "sam", f"{opt} step ({name}, Adam base, batch 100)", r["step_ms"] / 1e3,
          peer=_timing.peer_name("optax") + " contrib.sam" if peer else None,
          peer_s=got["optax_sam"]["step_ms"] / 1e3 if peer else None,
          limit_ratio=r["step_ms"] / 1e3 / (PASSES[opt] * base_s),
          peer_limit_ratio=(got["optax_sam"]["step_ms"] / 1e3 / (2 * base_s)) if peer else None,
          compile_s=r["compile_s"], passes_ours=PASSES[opt],
          passes_peer=PASSES["optax_sam"] if peer else None,
          note=f"limit: {PASSES[opt]} x the Adam step"
               + (f"; target {TARGETS[opt]}x the Adam step" if opt in TARGETS else "")))
  return out


def main(argv):
  del argv
  rows = [r for m in FLAGS.models for r in bench_model(m, FLAGS.batch_size, FLAGS.rounds)]
  _timing.print_table(rows, ["model", "batch", "optimizer", "step_ms", "vs_base", "cpu_ms",
                             "cpu_vs_base", "target", "meets_target"])
  print("wrote", _timing.write_results("sam", rows, FLAGS.out))


if __name__ == "__main__":
  define_flags()
  app.run(main)
