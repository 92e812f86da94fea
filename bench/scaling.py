r"""Data-parallel step times on 1, 2, 4 and 8 devices: train step, AutoAttack, population.

Each device count runs in its own process (JAX fixes its devices at start;
on a CPU, XLA_FLAGS=--xla_force_host_platform_device_count=N simulates N
devices), measuring the library's sharded programs:
  * train step: `fit`'s PGD-AT step (PGD-<steps> inner attack), state
    replicated, the global batch split over the "data" axis;
  * AutoAttack: `ShardedEnsembleEvaluator` with AutoAttack's standard
    components at reduced budgets on n test points of a model trained for
    TRAIN_STEPS standard steps (the whole protocol: survivors re-packed and
    re-sharded between components);
  * population: one step of 16 members (seeds x learning rates, PGD-AT),
    members split over the "model" axis of `population.default_mesh`.
limit_ratio = time on N devices / time on 1 device. On one CPU the simulated
devices share the same cores, so there is no speed-up to gain: the ratio is
the overhead of partitioning (per-device programs, collectives, host
placement), not a scaling result. On a GPU node or TPU slice the same
command measures real scaling.

  python -m bench.scaling [--devices=1,2,4,8] [--quick] [--out=bench/results]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import jax
import numpy as np
from absl import app, flags

from bench import _timing
from experiments.configs import default
from jaxrobust import attacks, data, sharding
from jaxrobust.defenses import DEFENSES
from jaxrobust.eval.sharded import ShardedEnsembleEvaluator
from jaxrobust.train import _population, loop, population
from jaxrobust.train.optimizers import make_optimizer
from jaxrobust.train.state import init_state, variables
from jaxrobust.train.step import make_train_step

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEVICES = (1, 2, 4, 8)
MEMBERS = 16
TRAIN_STEPS = 150  # standard training of the model AutoAttack evaluates


def define_flags() -> None:
  flags.DEFINE_list("devices", [str(d) for d in DEVICES], "Device counts, one process each.")
  flags.DEFINE_bool("quick", False, "Reduced sizes (python -m bench --quick).")
  flags.DEFINE_string("out", "bench/results", "Directory for the JSON results.")
  flags.DEFINE_bool("worker", False, "Internal: measure on this process's devices, print JSON.")


def _sizes(quick: bool) -> dict:
  return ({"model": "mlp", "batch": 64, "steps": 3, "aa_n": 64, "aa_steps": 5, "queries": 20,
           "repeats": 3} if quick else
          {"model": "small_cnn", "batch": 128, "steps": 10, "aa_n": 128, "aa_steps": 20,
           "queries": 100, "repeats": 7})


def _first_and_steady(fn, repeats: int) -> tuple[float, float]:
  tic = time.perf_counter()
  jax.block_until_ready(fn())
  first = time.perf_counter() - tic
  return first, _timing.median_seconds(fn, repeats=repeats, warmup=1)


def measure(quick: bool) -> dict:
  """The three programs on every device of this process -> {name: (first_s, steady_s)}."""
  s = _sizes(quick)
  config = default.get_config("pgd_at", attack_steps=s["steps"])
  config.model = {"name": s["model"]}
  config.batch_size = s["batch"]
  ds = data.load("mnist5k", "train")
  test = data.load("mnist5k", "test")
  model = loop.build_model(config, ds.info)
  mesh = sharding.data_mesh()
  out = {}

  tx = make_optimizer(config.optimizer, 1000)
  step = make_train_step(model, DEFENSES.from_config(config.defense.to_dict()), tx)
  state = sharding.replicate(mesh, init_state(model, tx, ds.info.input_shape, jax.random.key(0)))
  jitted = jax.jit(lambda st, b: step(st, b, jax.random.key(1))[1])
  batch = sharding.shard_batch(mesh, ds.images[:s["batch"]], ds.labels[:s["batch"]])
  out["train"] = _first_and_steady(lambda: jitted(state, batch), s["repeats"])

  # AutoAttack's work depends on the points still robust: attack a trained
  # model (standard training, TRAIN_STEPS steps), not the random initialisation.
  clean_step = jax.jit(make_train_step(model, DEFENSES.from_config({"name": "standard"}), tx),
                       donate_argnums=0)
  trained = sharding.replicate(mesh, init_state(model, tx, ds.info.input_shape,
                                                jax.random.key(0)))
  for i in range(TRAIN_STEPS):
    rows_i = np.arange(i * s["batch"], (i + 1) * s["batch"]) % len(ds.labels)
    trained, _ = clean_step(trained, sharding.shard_batch(mesh, ds.images[rows_i],
                                                          ds.labels[rows_i]),
                            jax.random.key(i))
  aa = attacks.AutoAttack(eps=0.1, steps=s["aa_steps"], n_queries=s["queries"],
                          n_target_classes=3).components()
  evaluator = ShardedEnsembleEvaluator(lambda v, x: model.apply(v, x, train=False), aa,
                                       s["aa_n"], mesh=mesh)
  images, labels = test.images[:s["aa_n"]], test.labels[:s["aa_n"]]
  result = {}

  def run_aa():
    result.update(evaluator(variables(trained), images, labels, key=jax.random.key(2)))
    return np.zeros(())

  out["autoattack"] = _first_and_steady(run_aa, max(1, s["repeats"] // 2))

  configs = population.member_configs(config, {
      "seed": list(range(MEMBERS)), "learning_rate": list(np.geomspace(3e-4, 3e-3, MEMBERS))})
  program = _population.build_program(config, configs, model, ds.info, 1000)
  pop = {"state": program.init()}
  idx = np.arange(MEMBERS * s["batch"]).reshape(MEMBERS, s["batch"]) % len(ds.labels)
  pop_batch = (ds.images[idx], ds.labels[idx])

  def pop_step():
    pop["state"], metrics = program.step(pop["state"], pop_batch)
    return metrics

  out["population"] = _first_and_steady(pop_step, s["repeats"])
  return {"devices": len(jax.devices()), "times": out, "robust": result.get("robust"),
          "clean": result.get("clean"),
          "population_mesh": dict(program.mesh.shape), "sizes": s}


def _run_worker(devices: int, quick: bool) -> dict:
  env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
         # The repository first, then the caller's path (packages installed by PYTHONPATH).
         "PYTHONPATH": os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p),
         "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu")}
  if os.environ.get("JAX_PLATFORMS", "cpu") != "cpu":
    env.pop("XLA_FLAGS")  # real accelerators: the visible devices, not simulated ones
  proc = subprocess.run([sys.executable, "-m", "bench.scaling", "--worker",
                         f"--quick={quick}"], cwd=ROOT, env=env, capture_output=True,
                        text=True, check=False)
  if proc.returncode:
    raise RuntimeError(f"bench.scaling on {devices} devices failed:\n{proc.stderr[-3000:]}")
  return json.loads(proc.stdout.strip().splitlines()[-1])


def _cases(s: dict) -> dict:
  return {"train": f"PGD-AT step, PGD-{s['steps']} ({s['model']}, global batch {s['batch']})",
          "autoattack": (f"AutoAttack standard, {s['aa_steps']} it / {s['queries']} queries "
                         f"({s['model']}, n {s['aa_n']})"),
          "population": f"{MEMBERS}-member PGD-AT population step ({s['model']}, batch "
                        f"{s['batch']} each)"}


def rows(quick: bool, devices=None) -> list[dict]:
  """The `python -m bench` rows: each program on each device count, vs one device."""
  devices = devices or ((1, 8) if quick else DEVICES)
  results = [_run_worker(d, quick) for d in devices]
  base = {name: t[1] for name, t in results[0]["times"].items()}
  out = []
  for r in results:
    cases = _cases(r["sizes"])
    for name, (first, steady) in r["times"].items():
      out.append(_timing.row(
          "scaling", f"{cases[name]}, {r['devices']} device(s)", steady,
          limit_ratio=steady / base[name], compile_s=first - steady,
          robust_acc_ours=r["robust"] if name == "autoattack" else None,
          passes_ours=None,
          note=(f"limit: the 1-device time (simulated devices share the CPU: overhead, "
                f"not speed-up){'; mesh ' + str(r['population_mesh']) if name == 'population' else ''}")))
  return out


def main(argv):
  del argv
  f = flags.FLAGS
  if f.worker:
    print(json.dumps(measure(f.quick)))
    return
  table = rows(f.quick, tuple(int(d) for d in f.devices))
  _timing.print_table(table, ["case", "ours_s", "limit_ratio", "compile_s", "robust_acc_ours"])
  print("wrote", _timing.write_results("scaling", table, f.out))


if __name__ == "__main__":
  define_flags()
  app.run(main)
