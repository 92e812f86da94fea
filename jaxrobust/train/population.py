"""Populations: N models of one architecture trained in one compiled program.

`fit_population(config, hparams, workdir)` trains one model per member, where
member i is the single run `fit(member_configs(config, hparams)[i])` would
train: the same initialisation, data order, step keys and updates, taken for
all members at once by `jax.vmap` over stacked train states, per-member
hyperparameters and per-member defenses. The numeric hyperparameters that may
vary inside a population (`AXES`):

  seed            the run's root key: initialisation, data order, step keys;
  learning_rate   optimizer.learning_rate (the peak of its schedule);
  weight_decay    optimizer.weight_decay;
  eps             every `eps` of the defense section (its attack's, or its own
                  for fast AT / GradAlign), each sibling `step_size` scaled by the
                  same factor (the step stays the same fraction of eps);
  defense.<path>  any other numeric field of the defense section, e.g.
                  "defense.beta" (TRADES, MART) or "defense.attack.step_size".

Structural choices (defense kind, attack steps, model width or depth,
optimizer kind, batch size, epochs) change the compiled program: they form
separate populations, one `fit_population` call each (`grid` builds the value
lists of one).

The population is one run on the one epoch loop (`driver.run_epochs`): its
whole state is checkpointed after every epoch under `<workdir>/checkpoints`,
and a run killed at any point (kill -9) resumes with the same command and
ends with the same parameters. `<workdir>/metrics.jsonl` holds per epoch the
population means and a "members" list of each member's own metrics (train
loss and accuracy, test accuracy, robust train / test accuracy and their gap,
measured for every member on the same points at one eps: config.robust_gap.eps,
else config.eval.eps; see `loop.build_robust_gap`).
`export_member` writes a member as an ordinary `fit` workdir (checkpoint,
metrics.jsonl, training_curves.png) that `load_trained` and
`python -m experiments.evaluate` accept; `plot_curves` draws every member's
robust train / test accuracy and gap.

`build_program` gives the compiled init and step alone (bench/population.py).

Devices: members are split over the "model" axis of a 2-D mesh and each
member's batch over its "data" axis (`_population.default_mesh`: members over
gcd(N, devices) devices; pass `mesh=sharding.population_mesh(...)` to
choose); one device is a mesh of one and gives the same members.

Limits: a member whose loss turns non-finite stops the whole
population (TrainingDivergedError, as a single run would stop); the
catastrophic-overfitting monitor and Absum with a learning-rate axis are
refused.

Example:
  hparams = population.grid(learning_rate=[1e-3, 3e-3], seed=[0, 1])
  result = population.fit_population(config, hparams, "runs/pop")
  result.variables()                    # stacked Flax variables [4, ...]
  result.histories[2][-1]["robust_gap"]  # member 2's gap after the last epoch
  population.export_member(result, 2, "runs/pop_member2")
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
import json
import numbers
import os
from typing import Any, Mapping, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from jax.sharding import Mesh

from jaxrobust import data
from jaxrobust.eval import plots
from jaxrobust.eval.evaluator import Evaluator
from jaxrobust.train import loop
from jaxrobust.train._population import PopulationState, build_program  # noqa: F401 (re-export)
from jaxrobust.train.checkpoint import Checkpointer
from jaxrobust.train.driver import accumulate, run_epochs
from jaxrobust.train.metrics import MetricsLog
from jaxrobust.train.optimizers import make_optimizer
from jaxrobust.train.state import TrainState, variables

AXES = ("seed", "learning_rate", "weight_decay", "eps", "defense.<numeric field>")
_OPTIMIZER_AXES = {"learning_rate": "learning_rate", "optimizer.learning_rate": "learning_rate",
                   "weight_decay": "weight_decay", "optimizer.weight_decay": "weight_decay"}


@dataclasses.dataclass
class PopulationResult:
  """What `fit_population` returns.

  state.members: the stacked train states, every leaf [N, ...];
  configs[i]: member i's config, that of the equivalent single `fit` run;
  hparams: axis name -> the N values, as given (numpy scalars as Python numbers);
  history: the records of metrics.jsonl (population means and "members");
  histories[i]: member i's per-epoch records, shaped like `FitResult.history`.
  """
  model: Any
  state: PopulationState
  info: data.DatasetInfo
  train: data.Dataset
  test: data.Dataset
  configs: list[ml_collections.ConfigDict]
  hparams: dict[str, list]
  history: list[dict[str, Any]]
  histories: list[list[dict[str, Any]]]
  steps_per_epoch: int

  def __len__(self) -> int:
    return len(self.configs)

  def variables(self) -> dict[str, Any]:
    """The members' Flax variables stacked along a leading axis [N, ...]: evaluate or
    measure all of them by `jax.vmap` over it (e.g. `Evaluator(..., stacked=True)`)."""
    return _stacked_variables(self.state.members)

  def initial_variables(self) -> dict[str, Any]:
    """The members' Flax variables at initialisation, stacked [N, ...] (w_0 of the
    distance-to-initialisation measures): each from fold_in(key(seed), _INIT),
    as `init_state` drew them in the population and in its single run."""
    keys = jnp.stack([jax.random.key(int(c.seed)) for c in self.configs])
    zeros = jnp.zeros((1,) + tuple(self.info.input_shape), jnp.float32)
    return jax.jit(jax.vmap(lambda k: self.model.init(
        jax.random.fold_in(k, loop._INIT), zeros, train=False)))(keys)

  def member(self, i: int) -> loop.FitResult:
    """Member i as the `FitResult` of its single run (see `member`)."""
    return member(self, i)


def grid(**axes: Sequence[Any]) -> dict[str, list]:
  """The Cartesian product of axis values as `fit_population`'s hparams (the last
  axis varies fastest), e.g. grid(learning_rate=[1e-3, 3e-3], seed=[0, 1, 2]) -> 6 members."""
  if not axes:
    raise ValueError("grid needs at least one axis, e.g. grid(seed=[0, 1]).")
  for name, values in axes.items():
    if len(values) == 0:
      raise ValueError(f"grid axis {name!r} has no values: the population would be empty.")
  rows = list(itertools.product(*axes.values()))
  return {name: [r[j] for r in rows] for j, name in enumerate(axes)}


def _numeric_paths(section: Mapping[str, Any], prefix: str) -> list[str]:
  """Dotted paths of the numeric (int/float, not bool) leaves of a config section."""
  out = []
  for k, v in section.items():
    if hasattr(v, "items"):
      out += _numeric_paths(v, f"{prefix}.{k}")
    elif isinstance(v, numbers.Real) and not isinstance(v, bool):
      out.append(f"{prefix}.{k}")
  return out


def _set_eps(section: ml_collections.ConfigDict, value: float) -> int:
  """Sets every eps of a defense section to value, scaling sibling step_size alike;
  returns how many were set."""
  count = 0
  for k in list(section.keys()):
    if hasattr(section[k], "items"):
      count += _set_eps(section[k], value)
  if "eps" in section and isinstance(section["eps"], numbers.Real):
    old = section["eps"]
    if isinstance(section.get("step_size"), numbers.Real) and old > 0:
      section["step_size"] = section["step_size"] * value / old
    section["eps"] = float(value)
    count += 1
  return count


def _check_value(name: str, i: int, value: Any) -> None:
  if isinstance(value, bool) or not isinstance(value, numbers.Real):
    raise ValueError(f"hparams[{name!r}][{i}] must be a number, got {value!r}.")
  if name == "seed" and not float(value).is_integer():
    raise ValueError(f"hparams['seed'][{i}] must be an integer, got {value!r}.")


def member_configs(config: ml_collections.ConfigDict,
                   hparams: Mapping[str, Sequence[Any]]) -> list[ml_collections.ConfigDict]:
  """The config of each member: config with member i's value of every axis.

  hparams: axis name (see `AXES`) -> N values, one per member (zipped, not a
  grid: use `grid` for a product). Raises ValueError for an empty population,
  axes of different lengths, an unknown or structural axis, or a value that
  is not a number.
  """
  if not hparams:
    raise ValueError(f"hparams names no axis: the population would be empty. Give at least "
                     f"one axis of {AXES}, e.g. {{'seed': [0, 1, 2]}}.")
  lengths = {name: len(values) for name, values in hparams.items()}
  if len(set(lengths.values())) > 1:
    raise ValueError(f"hparams axes must have one value per member, but their lengths "
                     f"differ: {lengths}. Use population.grid(...) for a Cartesian product.")
  n = next(iter(lengths.values()))
  if n == 0:
    raise ValueError(f"hparams axes hold no values: the population is empty ({lengths}).")
  defense_paths = _numeric_paths(config.defense, "defense")
  for name in hparams:
    if name in ("seed", "eps") or name in _OPTIMIZER_AXES or name in defense_paths:
      continue
    hint = ("; structural choices form separate populations (one fit_population call "
            "each)" if name.split(".")[0] in ("model", "optimizer", "defense", "augment")
            or name in ("batch_size", "epochs", "dataset") else "")
    raise ValueError(f"Unknown population axis {name!r}{hint}. Valid axes: seed, "
                     f"learning_rate, weight_decay, eps, {', '.join(defense_paths) or '(none)'}.")
  if "eps" in hparams and not any(p.endswith(".eps") for p in defense_paths):
    raise ValueError(f"axis 'eps': defense {config.defense.name!r} has no eps to vary.")
  out = []
  for i in range(n):
    c = ml_collections.ConfigDict(copy.deepcopy(config.to_dict()))
    for name, values in hparams.items():
      value = values[i]
      _check_value(name, i, value)
      if name == "seed":
        c.seed = int(value)
      elif name == "eps":
        _set_eps(c.defense, value)
      elif name in _OPTIMIZER_AXES:
        c.optimizer[_OPTIMIZER_AXES[name]] = float(value)
      else:
        *parents, leaf = name.split(".")[1:]
        section = c.defense
        for p in parents:
          section = section[p]
        if isinstance(section[leaf], int) and not float(value).is_integer():
          raise ValueError(f"hparams[{name!r}][{i}] must be an integer, got {value!r}.")
        section[leaf] = type(section[leaf])(value)
    out.append(c)
  return out


@jax.jit
def _stacked_variables(members: TrainState) -> dict[str, Any]:
  return jax.vmap(variables)(members)


def _json(value: Any) -> Any:
  return json.loads(json.dumps(value))


def fit_population(config: ml_collections.ConfigDict, hparams: Mapping[str, Sequence[Any]],
                   workdir: str, mesh: Mesh | None = None) -> PopulationResult:
  """Trains the members of `member_configs(config, hparams)` together, resuming from
  the newest checkpoint in workdir.

  Member i ends where `fit(member_configs(config, hparams)[i])` would (to
  floating-point reassociation under vmap); see the module docstring for the
  axes, the metrics and the workdir's layout. Raises ValueError for bad
  hparams (see `member_configs`) or a config `fit` would refuse, and
  TrainingDivergedError when a member's loss or gradient becomes non-finite.
  mesh: the ("model", "data") mesh of the members (see `build_program`).
  """
  loop._check(config)
  configs = member_configs(config, hparams)
  n = len(configs)
  if config.get("monitor") is not None and config.monitor.get("enabled", False):
    raise ValueError("config.monitor (the catastrophic-overfitting monitor) is not "
                     "supported in populations yet: set config.monitor.enabled=False.")
  lam = config.get("regularizer", {}).get("absum", 0.0)
  if lam and any(name in _OPTIMIZER_AXES for name in hparams):
    raise ValueError("config.regularizer.absum with a learning_rate or weight_decay axis is "
                     "not supported: the proximal threshold follows one learning rate.")
  train_ds, test_ds = loop.load_splits(config)
  info = train_ds.info
  model = loop.build_model(config, info)
  steps_per_epoch = data.num_batches(len(train_ds.labels), config.batch_size)
  if steps_per_epoch == 0:
    raise ValueError(f"config.batch_size={config.batch_size} exceeds the "
                     f"{len(train_ds.labels)} training examples.")
  total_steps = steps_per_epoch * config.epochs
  program = build_program(config, configs, model, info, total_steps, mesh)
  state, step_fn, shared_data = program.init(), program.step, program.shared_data
  member_defenses = program.defenses
  data_keys = [jax.random.fold_in(jax.random.key(int(c.seed)), loop._DATA) for c in configs]
  last_sums = {}  # the epoch's per-member sums, read by evaluate (host side)

  def train_epoch(state, epoch, tick):
    orders = np.stack([data.epoch_permutation(k, epoch, len(train_ds.labels))
                       for k in (data_keys[:1] if shared_data else data_keys)])
    sums, per_step = None, []
    b = config.batch_size
    for i in range(steps_per_epoch):
      idx = orders[:, i * b:(i + 1) * b]
      batch = (train_ds.images[idx[0]], train_ds.labels[idx[0]]) if shared_data else (
          train_ds.images[idx], train_ds.labels[idx])
      state, metrics = step_fn(state, batch)
      sums = metrics if sums is None else accumulate(sums, metrics)
      per_step.append((metrics["loss"].sum(), metrics["grad_norm"].sum()))
      tick(1)
    last_sums.clear()
    last_sums.update(sums)
    # The loop's record and divergence check take population means (a
    # non-finite member makes them non-finite and stops the run).
    return state, {k: v.mean() for k, v in sums.items()}, per_step

  clean = Evaluator(functools.partial(model.apply, train=False), {"clean": None},
                    config.eval_batch_size, stacked=True)
  robust_gap = loop.build_robust_gap(config, model, train_ds, test_ds, member_defenses[0],
                                     stacked=True)

  def evaluate(state, record, history):
    stacked = _stacked_variables(state.members)
    per_member = {f"train_{k}": (np.asarray(v) / steps_per_epoch).tolist()
                  for k, v in last_sums.items()}
    per_member["test_accuracy"] = clean(stacked, test_ds.images, test_ds.labels,
                                        key=jax.random.key(0))["clean"]
    if robust_gap:
      per_member.update(robust_gap(stacked))
    fields = {k: float(np.mean(v)) for k, v in per_member.items() if not k.startswith("train_")}
    fields["members"] = [{k: v[i] for k, v in per_member.items()} for i in range(n)]
    return fields

  hparams_json = _json({k: [v.item() if hasattr(v, "item") else v for v in values]
                        for k, values in hparams.items()})  # numpy scalars as Python
  fingerprint = {**loop.fingerprint(config, info), "population": hparams_json}
  state, history = run_epochs(
      state, train_epoch, evaluate, workdir=workdir, fingerprint=fingerprint,
      epochs=config.epochs, steps_per_epoch=steps_per_epoch,
      learning_rate=[c.optimizer.learning_rate for c in configs], progress=config.progress,
      checkpoint_extra={"config": json.loads(config.to_json()), "hparams": hparams_json,
                        "population_size": n})
  histories = [[{"epoch": r["epoch"], "step": r["step"], **r["members"][i]} for r in history]
               for i in range(n)]
  return PopulationResult(model=model, state=state, info=info, train=train_ds, test=test_ds,
                          configs=configs, hparams=hparams_json, history=history,
                          histories=histories, steps_per_epoch=steps_per_epoch)


def _check_index(result: PopulationResult, i: int) -> None:
  if not isinstance(i, (int, np.integer)) or not 0 <= i < len(result):
    raise ValueError(f"member index must be an integer in [0, {len(result)}), got {i!r}.")


def member_state(result: PopulationResult, i: int) -> TrainState:
  """Member i's TrainState, shaped as its single run's: the opt_state in the
  structure `make_optimizer(configs[i].optimizer)` gives (a member with weight
  decay 0 in a decayed population drops the decay's empty state)."""
  _check_index(result, i)
  one = jax.tree.map(lambda leaf: leaf[i], result.state.members)
  tx = make_optimizer(result.configs[i].optimizer,
                      result.steps_per_epoch * result.configs[i].epochs)
  like, treedef = jax.tree.flatten(jax.eval_shape(tx.init, one.params))
  leaves = jax.tree.leaves(one.opt_state)
  if [(np.shape(a), jnp.result_type(a)) for a in leaves] != [(a.shape, a.dtype) for a in like]:
    raise ValueError(f"member {i}'s optimizer state does not match its single run's "
                     f"optimizer ({result.configs[i].optimizer.name}): a bug, please report.")
  return one.replace(opt_state=jax.tree.unflatten(treedef, leaves))


def member(result: PopulationResult, i: int) -> loop.FitResult:
  """Member i as an ordinary single-model `FitResult`: its state, history and root key."""
  state = member_state(result, i)
  c = result.configs[i]
  return loop.FitResult(model=result.model, state=state, info=result.info, test=result.test,
                        history=result.histories[i], key=jax.random.key(c.seed))


def export_member(result: PopulationResult, i: int, workdir: str) -> str:
  """Writes member i as the workdir of its single `fit` run: checkpoints/<epoch>
  (with its config and fingerprint) and metrics.jsonl. `load_trained`,
  `python -m experiments.evaluate --workdir=...` and `fit` with configs[i]
  (resuming, e.g. for more epochs) accept it. Returns workdir.

  Raises ValueError if workdir already holds checkpoints.
  """
  state = member_state(result, i)
  c = result.configs[i]
  if os.path.isdir(os.path.join(workdir, "checkpoints")) and os.listdir(
      os.path.join(workdir, "checkpoints")):
    raise ValueError(f"{workdir!r} already holds checkpoints: export a member into a new "
                     "directory.")
  os.makedirs(workdir, exist_ok=True)
  epoch = result.histories[i][-1]["epoch"]
  checkpoints = Checkpointer(workdir, loop.fingerprint(c, result.info))
  try:
    checkpoints.save(epoch, state, extra={"config": json.loads(c.to_json())})
  finally:
    checkpoints.close()
  log = MetricsLog(workdir)
  log.truncate(0)
  for record in result.histories[i]:
    log.write(record)
  plots.plot_training_curves(result.histories[i], os.path.join(workdir, "training_curves.png"),
                             title=f"member {i} of {len(result)}: {_label(result, i)}")
  return workdir


def _label(result: PopulationResult, i: int) -> str:
  return ", ".join(f"{k}={v[i]:.4g}" if isinstance(v[i], float) else f"{k}={v[i]}"
                   for k, v in result.hparams.items())


def plot_curves(result: PopulationResult, path: str, title: str = "") -> None:
  """Every member's robust train / test accuracy and gap per epoch, as a PNG at path
  (`jaxrobust.eval.plots.plot_population_curves`, members labelled by their hparams)."""
  plots.plot_population_curves(result.histories, path,
                               [_label(result, i) for i in range(len(result))], title=title)
