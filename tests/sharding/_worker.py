"""The sharded side of tests/sharding/test_sharding.py, run in a subprocess.

  XLA_FLAGS=--xla_force_host_platform_device_count=8 python -m tests.sharding._worker devices DIR
  python -m tests.sharding._worker process DIR PROCESS_ID PORT   (2 processes x 4 devices)

JAX fixes its device count when it starts, so simulated devices need a fresh
process; one process runs every check (each JAX start costs seconds). It
writes DIR/<mode>[_<process>].json and .npz; the test process compares them
with its own single-device results (the problems below are shared by both).
"""

from __future__ import annotations

import functools
import json
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

from experiments.configs import tiny
from jaxrobust import attacks, data, defenses
from jaxrobust.eval.ensemble import EnsembleEvaluator
from jaxrobust.eval.evaluation import evaluate_models
from jaxrobust.eval.evaluator import Evaluator
from jaxrobust import sharding
from jaxrobust.train import _population, loop, population
from jaxrobust.train.checkpoint import Checkpointer
from jaxrobust.train.optimizers import make_optimizer
from jaxrobust.train.state import init_state
from jaxrobust.train.step import make_train_step

BATCH = 16  # global train batch: 2 rows per device on 8
STEPS = 2
MEMBERS = 8
EVAL_N = EVAL_BATCH = 64  # one compiled shape per attack (survivors pad to 64)


def config():
  c = tiny.get_config("pgd_at")
  c.dataset = "digits"
  c.model = {"name": "mlp", "hidden": (16,)}
  c.optimizer.name = "sgd"
  c.optimizer.schedule = "constant"
  c.batch_size = BATCH
  return c


@functools.cache
def digits():
  return data.load("digits", "train")


def train_steps(mesh, local_rows: bool = False) -> dict:
  """`fit`'s PGD-AT step, STEPS times on fixed batches, on `mesh` -> host params.

  local_rows: each process places only its own rows (`shard_local_batch`), as a
  multi-host loader that reads its shard would.
  """
  c, ds = config(), digits()
  model = loop.build_model(c, ds.info)
  tx = make_optimizer(c.optimizer, 100)
  step = make_train_step(model, defenses.DEFENSES.from_config(c.defense.to_dict()), tx)
  state = sharding.replicate(mesh, init_state(model, tx, ds.info.input_shape, jax.random.key(0)))
  jitted = jax.jit(lambda s, b, i: step(s, b, jax.random.fold_in(jax.random.key(1), i)))
  for i in range(STEPS):
    x, y = ds.images[i * BATCH:(i + 1) * BATCH], ds.labels[i * BATCH:(i + 1) * BATCH]
    if local_rows:
      rows = sharding.host_rows(mesh, BATCH)
      batch = sharding.shard_local_batch(mesh, x[rows], y[rows])
    else:
      batch = sharding.shard_batch(mesh, x, y)
    state, metrics = jitted(state, batch, i)
  leaves = sharding.gather(jax.tree.leaves(state.params))
  return {f"param{i}": a for i, a in enumerate(leaves)} | {"loss": np.asarray(metrics["loss"])}


@functools.cache
def linear_variables() -> dict:
  """A softmax regression of the digits (scikit-learn), stacked 4 times at scales
  1, 0.8, 0.6, 0.4 of its weights: robust accuracies strictly between 0 and 1."""
  from sklearn.linear_model import LogisticRegression  # pylint: disable=import-outside-toplevel
  ds = digits()
  x = np.asarray(data.to_float(ds.images)).reshape(len(ds.labels), -1)
  fit = LogisticRegression(max_iter=300).fit(x[:600], ds.labels[:600])
  w, b = fit.coef_.T.astype(np.float32), fit.intercept_.astype(np.float32)
  return {"w": np.stack([w * s for s in (1.0, 0.8, 0.6, 0.4)]), "b": np.stack([b] * 4)}


def linear_apply(variables, x):
  return x.reshape(len(x), -1) @ variables["w"] + variables["b"]


def eval_points():
  ds = data.load("digits", "test")
  return ds.images[:EVAL_N], ds.labels[:EVAL_N]


def ensemble(full: bool = False) -> dict:
  """A short AutoAttack-style ensemble (white-box then black-box); full: AutoAttack's
  standard components (APGD-CE, APGD-T, FAB-T, Square) at small budgets."""
  if full:
    return attacks.AutoAttack(eps=0.1, steps=5, n_queries=20, n_target_classes=2).components()
  return {"apgd-ce": attacks.APGD(eps=0.1, steps=5),
          "square": attacks.Square(eps=0.1, n_queries=20)}


def evaluate(mesh=None, full: bool = False) -> dict:
  """PGD on 4 stacked models, the ensemble on the first; sharded over `mesh` (the
  stacked models over a 4 x 2 (model, data) mesh of its devices; None: the
  unsharded evaluators) -> per-example results."""
  from jaxrobust.eval import sharded  # pylint: disable=import-outside-toplevel
  v = linear_variables()
  one = jax.tree.map(lambda a: a[0], v)
  x, y = eval_points()
  key = jax.random.key(3)
  pgd = {"pgd": attacks.PGD(eps=0.1, step_size=0.025, steps=5)}
  if mesh is None:
    stacked = Evaluator(linear_apply, pgd, EVAL_BATCH, stacked=True).correct(v, x, y, key=key)
    ens = EnsembleEvaluator(linear_apply, ensemble(full), EVAL_BATCH).correct(one, x, y, key=key)
  else:
    grid = sharding.population_mesh(4, 4, mesh.devices.flat)
    stacked = sharded.ShardedEvaluator(linear_apply, pgd, EVAL_BATCH, stacked=True,
                                       mesh=grid).correct(v, x, y, key=key)
    ens = sharded.ShardedEnsembleEvaluator(linear_apply, ensemble(full), EVAL_BATCH,
                                           mesh=mesh).correct(one, x, y, key=key)
  # evaluate_models (experiments.evaluate's path) on two models, sharded by its mesh.
  reports = evaluate_models(linear_apply, [one, jax.tree.map(lambda a: a[1], v)], x, y,
                            num_classes=10, attacks=pgd, ensembles={"aa": ensemble(full)},
                            curve_eps=(0.05, 0.1), curve_steps=3, key=key,
                            batch_size=EVAL_BATCH, mesh=mesh)
  return {"pgd_stacked": stacked["pgd"], "ens_robust": ens["robust"],
          **{f"ens_after_{k}": a for k, a in ens["after"].items()},
          "report_accuracies": np.asarray([
              [r["clean_accuracy"], r["robust_accuracy"]["pgd"],
               r["ensembles"]["aa"]["robust_accuracy"], *r["curve"]["accuracy"]]
              for r in reports])}


def population_steps(mesh) -> dict:
  """STEPS population steps of MEMBERS members (seeds and learning rates) on `mesh`
  (standard training: the PGD-AT step is checked by train_steps)."""
  c, ds = config(), digits()
  c.defense = {"name": "standard"}
  model = loop.build_model(c, ds.info)
  hparams = {"seed": list(range(MEMBERS)), "learning_rate": list(np.linspace(0.02, 0.1, MEMBERS))}
  configs = population.member_configs(c, hparams)
  program = _population.build_program(c, configs, model, ds.info, 100, mesh)
  state = program.init()
  n = len(ds.labels)
  for i in range(STEPS):
    idx = (np.arange(MEMBERS * BATCH).reshape(MEMBERS, BATCH) * 7 + i * BATCH) % n
    state, _ = program.step(state, (ds.images[idx], ds.labels[idx]))
  specs = sorted({str(a.sharding.spec) for a in jax.tree.leaves(state.members)})
  leaves = sharding.gather(jax.tree.leaves(state.members.params))
  return {f"member{i}": a for i, a in enumerate(leaves)}, specs


def checkpoint_tree(mesh=None):
  """A state to checkpoint: a replicated TrainState and MEMBERS stacked ones (split
  over the model axis when mesh has one)."""
  c, ds = config(), digits()
  model = loop.build_model(c, ds.info)
  tx = make_optimizer(c.optimizer, 100)
  make = lambda k: init_state(model, tx, ds.info.input_shape, k)
  one = make(jax.random.key(5))
  members = jax.vmap(make)(jax.random.split(jax.random.key(6), MEMBERS))
  if mesh is None:
    return {"one": one, "members": members}
  return {"one": sharding.replicate(mesh, one), "members": sharding.shard_members(mesh, members)}


def checkpoint_target(mesh):
  """Abstract checkpoint_tree with its sharding on mesh (the target of a restore)."""
  like = jax.eval_shape(checkpoint_tree)
  whole, split = (jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(*spec))
                  for spec in ((), (sharding.MODEL,)))
  return like, {"one": jax.tree.map(lambda _: whole, like["one"]),
                "members": jax.tree.map(lambda _: split, like["members"])}


def _flat(tree) -> dict:
  return {f"leaf{i}": a for i, a in enumerate(sharding.gather(jax.tree.leaves(tree)))}


def _save(path: str, arrays: dict) -> None:
  np.savez(path, **{k: np.asarray(v) for k, v in arrays.items()})


def run_devices(out: str) -> None:
  """Every check on this process's (8 simulated) devices."""
  devices = jax.devices()
  mesh = sharding.data_mesh()
  report = {"devices": len(devices)}
  _save(os.path.join(out, "train_sharded.npz"), train_steps(mesh))
  _save(os.path.join(out, "train_one.npz"), train_steps(sharding.data_mesh(devices[:1])))
  _save(os.path.join(out, "eval_sharded.npz"), evaluate(mesh))
  _save(os.path.join(out, "eval_one.npz"), evaluate(None))
  grid = sharding.population_mesh(MEMBERS, 4)  # 4 x 2: members and their batches split
  sharded_pop, report["population_specs"] = population_steps(grid)
  _save(os.path.join(out, "population_sharded.npz"), sharded_pop)
  _save(os.path.join(out, "population_one.npz"),
        population_steps(sharding.population_mesh(MEMBERS, 1, devices[:1]))[0])
  # Checkpoints: restore the test process's (1 device) onto 8, then write one from 8.
  reader = Checkpointer(os.path.join(out, "ckpt_1"), {"t": 1})
  like, target = checkpoint_target(grid)
  restored, _ = reader.restore(1, like, target)
  reader.close()
  report["restored_specs"] = {k: sorted({str(a.sharding.spec) for a in jax.tree.leaves(v)})
                              for k, v in restored.items()}
  report["restored_devices"] = len(jax.tree.leaves(restored["members"])[0].sharding.device_set)
  _save(os.path.join(out, "ckpt_1_on_8.npz"), _flat(restored))
  writer = Checkpointer(os.path.join(out, "ckpt_8"), {"t": 8})
  writer.save(1, checkpoint_tree(grid))
  writer.close()
  report["errors"] = _errors(mesh, grid)
  with open(os.path.join(out, "devices.json"), "w") as f:
    json.dump(report, f)


def _errors(mesh, grid) -> dict:
  """The ValueError message of each bad input on 8 devices (None: not refused)."""
  from jaxrobust.eval import sharded  # pylint: disable=import-outside-toplevel
  c, ds = config(), digits()
  cases = {
      "evaluator_batch": lambda: sharded.ShardedEvaluator(linear_apply, {"clean": None}, 12,
                                                          mesh=mesh),
      "shard_batch": lambda: sharding.shard_batch(mesh, np.zeros((12, 2))),
      "population_mesh": lambda: sharding.population_mesh(6, 4),
      "population_program": lambda: _population.build_program(
          c, population.member_configs(c, {"seed": [0, 1, 2, 3, 4, 5]}),
          loop.build_model(c, ds.info), ds.info, 100, grid),
  }
  out = {}
  for name, make in cases.items():
    try:
      make()
      out[name] = None
    except ValueError as e:
      out[name] = str(e)
  return out


def run_autoattack(out: str) -> None:
  """AutoAttack's standard components, sharded on 8 devices and on one."""
  _save(os.path.join(out, "aa_sharded.npz"), evaluate(sharding.data_mesh(), full=True))
  _save(os.path.join(out, "aa_one.npz"), evaluate(None, full=True))


def run_process(out: str, process_id: int, port: int) -> None:
  """Process `process_id` of 2 joined on localhost, 4 devices each."""
  from jaxrobust import distributed  # pylint: disable=import-outside-toplevel
  from jaxrobust.eval import sharded  # pylint: disable=import-outside-toplevel
  assert distributed.initialize(f"localhost:{port}", 2, process_id)
  mesh = sharding.data_mesh()
  report = {"process_count": jax.process_count(), "devices": len(jax.devices()),
            "local_devices": len(jax.local_devices()),
            "host_rows": str(sharding.host_rows(mesh, BATCH))}
  params = train_steps(mesh, local_rows=True)
  x, y = eval_points()
  v = jax.tree.map(lambda a: a[0], linear_variables())
  result = sharded.ShardedEnsembleEvaluator(linear_apply, ensemble(), EVAL_BATCH,
                                            mesh=mesh).correct(v, x, y, key=jax.random.key(3))
  workdir = os.path.join(out, "ckpt_mp")
  writer = Checkpointer(workdir, {"t": "mp"})
  writer.save(1, checkpoint_tree(sharding.population_mesh(MEMBERS, 2)))
  writer.close()
  _save(os.path.join(out, f"process_{process_id}.npz"),
        {**params, "ens_robust": result["robust"]})
  with open(os.path.join(out, f"process_{process_id}.json"), "w") as f:
    json.dump(report, f)


if __name__ == "__main__":
  # The persistent compilation cache, as tests/conftest.py sets it.
  jax.config.update("jax_compilation_cache_dir", os.environ.get(
      "JAX_COMPILATION_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "jaxrobust",
                                                "jax")))
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
  if sys.argv[1] == "devices":
    run_devices(sys.argv[2])
  elif sys.argv[1] == "autoattack":
    run_autoattack(sys.argv[2])
  else:
    run_process(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
