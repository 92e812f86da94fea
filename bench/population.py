r"""A population of N models trained in one program vs N sequential runs of the same training.

The same PGD-AT training (mnist5k, batch 100, PGD-<steps> inner attack, Adam
with a cosine schedule) of N models that differ by seed and learning rate:
  * throughput ratio: N x (one single-run step) / (one population step), so
    > 1 means the population trains its N models faster than N runs one after
    another (each member gets its own batch, as with different seeds);
  * compile time: of the single run's step and of the population's step
    (`.lower(...).compile()`, persistent compilation cache off).
The single run's step is `fit`'s (make_train_step + make_optimizer, jitted
with the state donated); the population's is `population.build_program`'s,
the one `fit_population` trains with. Both are timed side by side in rotation.

What limits it on a CPU: the single run's step is already compute-bound
(the MLP's input-gradient pass runs at ~100 GFLOP/s on 2 cores, see
bench.train_step), so batching members cannot remove dispatch overhead that
is not there, and XLA:CPU runs the batched dot_general of N members' layers
less efficiently than one GEMM each (measured: a vmapped PGD-10 loop of 16
MLPs costs ~1.5x 16 single loops); vmapped convolutions with per-member
weights become grouped convolutions (JAX's batching rule: feature_group_count
= N), which XLA:CPU runs slowly, worst in the backward passes (measured for 16
small CNNs against 16 single calls, busy machine: forward 0.77x, input
gradient 0.42x, weight gradient 0.31x). On a GPU, where one small model
leaves the device mostly idle, the ratio is what populations are for.

  python -m bench.population [--members=16] [--steps=10] [--models=mlp,small_cnn] \
      [--repeats=5] [--out=bench/results]
"""

from __future__ import annotations

import time

import jax
import numpy as np
from absl import app, flags

from bench import _timing
from experiments.configs import default
from jaxrobust import data, defenses
from jaxrobust.train import loop, population
from jaxrobust.train.optimizers import make_optimizer
from jaxrobust.train.state import init_state
from jaxrobust.train.step import make_train_step


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so `python -m bench` can import every bench."""
  flags.DEFINE_integer("members", 16, "Models in the population (and sequential runs).")
  flags.DEFINE_integer("steps", 10, "PGD iterations of the inner attack.")
  flags.DEFINE_integer("batch_size", 100, "Examples per step and model.")
  flags.DEFINE_integer("repeats", 5, "Timed calls per program (median).")
  flags.DEFINE_list("models", ["mlp", "small_cnn"], "Models to bench.")
  flags.DEFINE_string("out", "bench/results", "Directory for the JSON results.")


FLAGS = flags.FLAGS


class _Stepper:
  """Calls a donating step repeatedly, feeding each call the state the last returned."""

  def __init__(self, step, state, batch):
    self.step, self.state, self.batch = step, state, batch

  def __call__(self):
    self.state, metrics = self.step(self.state, self.batch)
    return metrics


def _compile_seconds(lower, *args) -> float:
  """Seconds to lower and compile a jitted function for args."""
  tic = time.perf_counter()
  lower(*args).compile()
  return time.perf_counter() - tic


def bench_model(name: str, members: int, steps: int, batch: int, repeats: int) -> dict:
  config = default.get_config("pgd_at", attack_steps=steps)
  config.model = {"name": name}
  config.batch_size = batch
  ds = data.load(config.dataset, "train")
  model = loop.build_model(config, ds.info)
  total_steps = 1000
  configs = population.member_configs(config, {
      "seed": list(range(members)),
      "learning_rate": list(np.geomspace(3e-4, 3e-3, members))})

  # One single run: fit's step for member 0 (its defense, optimizer and key stream).
  c = configs[0]
  tx = make_optimizer(c.optimizer, total_steps)
  train_step = make_train_step(model, defenses.DEFENSES.from_config(c.defense.to_dict()), tx)
  step_key = jax.random.fold_in(jax.random.key(c.seed), loop._STEP)
  single_jit = jax.jit(lambda state, batch: train_step(state, batch, step_key), donate_argnums=0)
  single = _Stepper(single_jit, init_state(model, tx, ds.info.input_shape, jax.random.key(0)),
                    (ds.images[:batch], ds.labels[:batch]))

  program = population.build_program(config, configs, model, ds.info, total_steps)
  idx = np.arange(members * batch).reshape(members, batch) % len(ds.labels)
  pop = _Stepper(program.step, program.init(), (ds.images[idx], ds.labels[idx]))

  compile_single = _compile_seconds(single_jit.lower, single.state, single.batch)
  compile_pop = _compile_seconds(program.lower, pop.state, pop.batch)
  times = _timing.interleaved_median_seconds({"single": single, "population": pop},
                                             repeats=repeats, warmup=1)
  return {
      "model": name, "members": members, "pgd_steps": steps, "batch": batch,
      "single_step_ms": 1e3 * times["single"],
      "population_step_ms": 1e3 * times["population"],
      "throughput_ratio": members * times["single"] / times["population"],
      "single_compile_s": compile_single,
      "population_compile_s": compile_pop,
      "population_examples_per_s": members * batch / times["population"],
  }


def rows(quick: bool) -> list[dict]:
  """The `python -m bench` rows: the population step against N single-run steps (its limit
  is N x one single step: limit_ratio < 1 means the population pays). Compile times
  come from the persistent cache when it is warm (`python -m bench --cold` for true ones)."""
  members, models = (4, ["mlp"]) if quick else (16, ["mlp", "small_cnn"])
  out = []
  for name in models:
    r = bench_model(name, members, 10, 100, 3 if quick else 5)
    out.append(_timing.row(
        "population", f"{members} {name} PGD-AT (PGD-10) members in one program, batch 100",
        r["population_step_ms"] / 1e3,
        limit_ratio=1 / r["throughput_ratio"], compile_s=r["population_compile_s"],
        note=f"limit: {members} x one single-run step ({r['single_step_ms']:.1f} ms, "
             f"compile {r['single_compile_s']:.1f} s); throughput ratio "
             f"{r['throughput_ratio']:.2f}"))
  return out


def main(argv):
  del argv
  # Compile times are measured, not read back from an earlier run's cache.
  jax.config.update("jax_enable_compilation_cache", False)
  rows = [bench_model(m, FLAGS.members, FLAGS.steps, FLAGS.batch_size, FLAGS.repeats)
          for m in FLAGS.models]
  _timing.print_table(rows, ["model", "members", "pgd_steps", "batch", "single_step_ms",
                             "population_step_ms", "throughput_ratio", "single_compile_s",
                             "population_compile_s", "population_examples_per_s"])
  print("wrote", _timing.write_results("population", rows, FLAGS.out))


if __name__ == "__main__":
  define_flags()
  app.run(main)
