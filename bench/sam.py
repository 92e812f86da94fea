r"""Train-step time of SAM, ASAM and PSATT relative to their base optimizer.

SAM and ASAM take a second forward-backward pass (ideal: 2x the base step);
PSATT takes none (ideal: 1x). All steps are the library's make_train_step
(standard training) on the same model, batch and key, timed side by side in
interleaved rounds of one run, so machine load affects them alike.
Targets: SAM <= 2.05x, PSATT <= 1.10x.

  python -m bench.sam [--batch_size=100] [--models=small_cnn,mlp] [--out=bench/results]
"""

import statistics
import time

from absl import app, flags
import jax
import optax

from bench import _timing
from jaxrobust import data, defenses, models, train
from jaxrobust.optim.psatt import psatt
from jaxrobust.optim.sam import asam, sam

_BATCH = flags.DEFINE_integer("batch_size", 100, "Examples per step.")
_OUT = flags.DEFINE_string("out", "bench/results", "Directory for the JSON results.")
_MODELS = flags.DEFINE_list("models", ["small_cnn", "mlp"], "Models to bench.")
_ROUNDS = flags.DEFINE_integer("rounds", 5, "Interleaved timing rounds.")

TARGETS = {"sam": 2.05, "psatt": 1.10}


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


def bench_model(name: str, batch: int, rounds: int) -> list[dict]:
  ds = data.load("mnist5k", "train")
  model = models.create(name, num_classes=10, mean=ds.info.mean, std=ds.info.std)
  base = lambda: optax.adam(1e-3)
  txs = {"adam": base(), "sam": sam(base(), 0.05), "asam": asam(base(), 0.5),
         "psatt": psatt(base(), 0.05)}
  images, labels = ds.images[:batch], ds.labels[:batch]
  key = jax.random.key(0)
  calls = {}
  for opt, tx in txs.items():
    state = train.init_state(model, tx, ds.info.input_shape, jax.random.key(0))
    step = jax.jit(train.make_train_step(model, defenses.Standard(), tx))
    calls[opt] = (lambda step=step, state=state: step(state, (images, labels), key)[0])
  walls, cpus = {opt: [] for opt in txs}, {opt: [] for opt in txs}
  for _ in range(rounds):  # interleaved, so load drifts hit every optimizer alike
    for opt, call in calls.items():
      wall, cpu = median_times(call)
      walls[opt].append(wall)
      cpus[opt].append(cpu)
  base_wall, base_cpu = statistics.median(walls["adam"]), statistics.median(cpus["adam"])
  rows = []
  for opt in txs:
    wall, cpu = statistics.median(walls[opt]), statistics.median(cpus[opt])
    rows.append({"model": name, "batch": batch, "optimizer": opt, "step_ms": 1e3 * wall,
                 "vs_base": wall / base_wall, "cpu_ms": 1e3 * cpu, "cpu_vs_base": cpu / base_cpu,
                 "target": TARGETS.get(opt),
                 "meets_target": (wall / base_wall <= TARGETS[opt]) if opt in TARGETS else None})
  return rows


def main(argv):
  del argv
  rows = [r for m in _MODELS.value for r in bench_model(m, _BATCH.value, _ROUNDS.value)]
  _timing.print_table(rows, ["model", "batch", "optimizer", "step_ms", "vs_base", "cpu_ms",
                             "cpu_vs_base", "target", "meets_target"])
  print("wrote", _timing.write_results("sam", rows, _OUT.value))


if __name__ == "__main__":
  app.run(main)
