"""Standard and adversarial training: data, model, defense and optimizer from a config.

A run is a pure function of its config: every random choice derives from
`config.seed` by fold_in (epoch order by epoch, step keys by global step). The
epochs run on the one epoch loop (`driver.run_epochs`), which checkpoints the
whole TrainState after every epoch: a run killed at any point and restarted
with the same command replays the interrupted epoch and ends with
bit-identical parameters.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any, Callable

import jax
import ml_collections
from tqdm.auto import tqdm

from jaxrobust import data, defenses, models
from jaxrobust.defenses.absum import absum_prox
from jaxrobust.eval.evaluator import Evaluator
from jaxrobust.train.driver import accumulate, run_epochs
from jaxrobust.train.monitor import COMonitor, RobustGapMonitor, detect_collapse, subset_indices
from jaxrobust.train.optimizers import make_optimizer, make_schedule
from jaxrobust.sharding import data_mesh, replicate, shard_batch
from jaxrobust.train.state import TrainState, init_state, variables
from jaxrobust.train.step import make_train_step

# Independent streams derived from the seed (fold_in tags).
_INIT, _DATA, _STEP, _EVAL, _MONITOR = range(5)


@dataclasses.dataclass
class FitResult:
  """What `fit` returns: the trained state and what is needed to use it."""
  model: Any
  state: TrainState
  info: data.DatasetInfo
  test: data.Dataset
  history: list[dict[str, Any]]
  key: jax.Array  # the run's root key, for evaluation streams
  # First epoch the monitor flagged catastrophic overfitting (None: not seen or
  # monitor off).
  catastrophic_overfitting: int | None = None


def _options(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """A config section minus its `name`, as keyword arguments."""
  return {k: v for k, v in config.to_dict().items() if k != "name"}


def _check(config: ml_collections.ConfigDict) -> None:
  for field in ("epochs", "batch_size", "eval_batch_size"):
    value = config[field]
    if not isinstance(value, int) or value < 1:
      raise ValueError(f"config.{field} must be an integer >= 1, got {value!r}.")


def build_model(config: ml_collections.ConfigDict, info: data.DatasetInfo):
  """The model named in config.model for a dataset's classes and statistics."""
  return models.make(config.model.name, num_classes=info.num_classes,
                       mean=info.mean, std=info.std, **_options(config.model))


def load_splits(config: ml_collections.ConfigDict) -> tuple[data.Dataset, data.Dataset]:
  """The train and test splits of config.dataset (from config.data_dir if set)."""
  data_dir = config.get("data_dir") or None
  return (data.load(config.dataset, "train", data_dir),
          data.load(config.dataset, "test", data_dir))


def clean_accuracy(model, test: data.Dataset, batch_size: int,
                   key: jax.Array) -> Callable[[TrainState], float]:
  """state -> accuracy on the whole test split (the model's `variables(state)`)."""
  evaluator = Evaluator(functools.partial(model.apply, train=False), {"clean": None},
                        batch_size)
  return lambda state: evaluator(variables(state), test.images, test.labels,
                                 key=key)["clean"]


def _defense_eps(defense) -> float:
  """The radius a built defense trains at: its own eps (FastAT, GradAlign) or its
  attack's (AWP's is its base's); 0 without one (standard training)."""
  return getattr(defense, "eps", None) or getattr(getattr(defense, "attack", None), "eps", 0.0)


def build_monitor(config: ml_collections.ConfigDict, model, test: data.Dataset,
                  key: jax.Array, defense) -> COMonitor | None:
  """config.monitor's CO monitor on the first `batch_size` test images (None if off).

  The held-out batch is a fixed slice of the test split (never trained on), and
  the PGD start uses a fixed key, so every epoch sees the same attack problem.
  """
  m = config.get("monitor")
  if m is None or not m.get("enabled", False):
    return None
  n = m.get("batch_size", 500)
  if not isinstance(n, int) or not 1 <= n <= len(test.labels):
    raise ValueError(f"config.monitor.batch_size must be an integer in [1, "
                     f"{len(test.labels)}], got {n!r}.")
  eps = m.get("eps", 0.0) or _defense_eps(defense)
  if not eps > 0:
    raise ValueError(f"config.monitor.eps must be > 0 (or 0 with a defense eps > 0), "
                     f"got {m.get('eps')!r}.")
  steps = m.get("pgd_steps", 10)
  if not isinstance(steps, int) or steps < 1:
    raise ValueError(f"config.monitor.pgd_steps must be an integer >= 1, got {steps!r}.")
  detect_collapse([], m.get("drop", 0.2), m.get("gap", 0.5))  # validated now, not after epoch 1
  return COMonitor(functools.partial(model.apply, train=False), test.images[:n],
                   test.labels[:n], eps=float(eps), pgd_steps=steps, key=key)


# The robust-gap monitor when a config has no `robust_gap` section.
ROBUST_GAP_DEFAULTS = {"num_examples": 256, "eps": 0.0, "pgd_steps": 10, "seed": 0}


def build_robust_gap(config: ml_collections.ConfigDict, model, train: data.Dataset,
                     test: data.Dataset, defense, stacked: bool = False
                     ) -> RobustGapMonitor | None:
  """config.robust_gap's monitor: PGD accuracy on `num_examples` fixed train and
  test points per epoch (None when num_examples is 0 or no eps is known).

  eps 0 means config.eval.eps in config.eval.norm (the evaluation budget, the
  same for every run of a study whatever it trains at), else the defense's eps
  in its attack's norm; an eps given here is Linf. The subsets are
  evenly spaced indices and the PGD starts come from `seed`, not from the
  run's seed: runs and population members are measured on one attack problem.
  stacked: the monitor of a population (see RobustGapMonitor).
  """
  g = {**ROBUST_GAP_DEFAULTS, **(config.robust_gap.to_dict() if "robust_gap" in config else {})}
  unknown = sorted(set(g) - set(ROBUST_GAP_DEFAULTS))
  if unknown:
    raise ValueError(f"Unknown option(s) {unknown} in config.robust_gap; valid options: "
                     f"{tuple(ROBUST_GAP_DEFAULTS)}.")
  n = g["num_examples"]
  limit = min(len(train.labels), len(test.labels))
  if not isinstance(n, int) or not 0 <= n <= limit:
    raise ValueError(f"config.robust_gap.num_examples must be an integer in [0, {limit}] "
                     f"(0: off), got {n!r}.")
  steps = g["pgd_steps"]
  if not isinstance(steps, int) or steps < 1:
    raise ValueError(f"config.robust_gap.pgd_steps must be an integer >= 1, got {steps!r}.")
  if not isinstance(g["eps"], (int, float)) or not g["eps"] >= 0:
    raise ValueError(f"config.robust_gap.eps must be >= 0, got {g['eps']!r}.")
  eps, norm = g["eps"], "linf"
  if not eps and "eval" in config:
    eps, norm = config.eval.get("eps", 0.0), config.eval.get("norm", "linf")
  if not eps:
    eps, norm = _defense_eps(defense), getattr(getattr(defense, "attack", None), "norm", "linf")
  if not n or not eps > 0:
    return None
  tr, te = subset_indices(len(train.labels), n), subset_indices(len(test.labels), n)
  return RobustGapMonitor(functools.partial(model.apply, train=False),
                          train.images[tr], train.labels[tr], test.images[te],
                          test.labels[te], eps=float(eps), pgd_steps=steps, norm=norm,
                          key=jax.random.key(g["seed"]), stacked=stacked)


def build_prox(config: ml_collections.ConfigDict, total_steps: int):
  """The proximal step after each update (Absum), or None.

  Proximal gradient uses threshold = learning rate * lambda, with the learning
  rate of the optimizer's schedule at that step.
  """
  lam = config.get("regularizer", {}).get("absum", 0.0)
  if lam < 0:
    raise ValueError(f"config.regularizer.absum must be >= 0, got {lam}.")
  if not lam:
    return None
  o = config.optimizer
  schedule = make_schedule(o.schedule, o.learning_rate, total_steps,
                           o.get("warmup_steps", 0))
  return lambda params, step: absum_prox(params, lam * schedule(step))


def fingerprint(config: ml_collections.ConfigDict, info: data.DatasetInfo) -> dict:
  """What must match for a checkpoint to be resumable (JSON-normalised)."""
  return json.loads(json.dumps({
      "dataset": info.name, "input_shape": info.input_shape,
      "num_classes": info.num_classes, "model": config.model.to_dict(),
      # The optimizer's state is part of the checkpoint: another optimizer (or
      # the same one with or without a sharpness-aware wrapper) cannot resume it.
      "optimizer": config.optimizer.name, "sharpness_aware": _sharpness_aware(config),
      # Resuming under another defense would report one run that is two.
      "defense": config.defense.to_dict()}))


def _sharpness_aware(config: ml_collections.ConfigDict) -> str | None:
  sam = config.optimizer.get("sam")
  return sam.get("kind", "sam") if sam is not None and sam.get("rho", 0.0) > 0 else None


def fit(config: ml_collections.ConfigDict, workdir: str) -> FitResult:
  """Trains as the config says, resuming from the newest checkpoint in workdir."""
  _check(config)
  train_ds, test_ds = load_splits(config)
  info = train_ds.info
  model = build_model(config, info)
  defense = defenses.DEFENSES.from_config(config.defense.to_dict())
  steps_per_epoch = data.num_batches(len(train_ds.labels), config.batch_size)
  if steps_per_epoch == 0:
    raise ValueError(f"config.batch_size={config.batch_size} exceeds the "
                     f"{len(train_ds.labels)} training examples.")
  tx = make_optimizer(config.optimizer, steps_per_epoch * config.epochs)
  prox = build_prox(config, steps_per_epoch * config.epochs)

  key = jax.random.key(config.seed)
  mesh = data_mesh()
  state = replicate(mesh, init_state(model, tx, info.input_shape,
                                     jax.random.fold_in(key, _INIT)))
  step_key = jax.random.fold_in(key, _STEP)
  train_step = make_train_step(model, defense, tx, crop_padding=config.augment.crop_padding,
                               flip=config.augment.flip, prox=prox)
  # The key of global step s is fold_in(step_key, s), derived inside the one jitted step.
  keyed_step = jax.jit(lambda state, batch, step: train_step(
      state, batch, jax.random.fold_in(step_key, step)), donate_argnums=0)
  monitor = build_monitor(config, model, test_ds, jax.random.fold_in(key, _MONITOR), defense)
  co_rule = ((config.monitor.get("drop", 0.2), config.monitor.get("gap", 0.5))
             if monitor else None)
  robust_gap = build_robust_gap(config, model, train_ds, test_ds, defense)
  accuracy = clean_accuracy(model, test_ds, config.eval_batch_size,
                            jax.random.fold_in(key, _EVAL))
  data_key = jax.random.fold_in(key, _DATA)

  def train_epoch(state, epoch, tick):
    sums, per_step = None, []
    for i, (x, y) in enumerate(data.epoch_batches(train_ds.images, train_ds.labels,
                                                  config.batch_size, key=data_key,
                                                  epoch=epoch)):
      state, metrics = keyed_step(state, shard_batch(mesh, x, y),
                                  (epoch - 1) * steps_per_epoch + i)
      sums = metrics if sums is None else accumulate(sums, metrics)
      per_step.append((metrics["loss"], metrics["grad_norm"]))  # device values, no sync
      tick(1)
    return state, sums, per_step

  def evaluate(state, record, history):
    fields = {"test_accuracy": accuracy(state)}
    if robust_gap:
      fields.update(robust_gap(variables(state)))
    if monitor:
      fields.update(monitor(variables(state)))
      # Earlier epochs come from the log, so a resumed run flags the same epoch.
      if detect_collapse(history + [{**record, **fields}], *co_rule) == record["epoch"]:
        fields["catastrophic_overfitting"] = True
        tqdm.write(f"catastrophic overfitting at epoch {record['epoch']}: PGD accuracy "
                   f"{fields['monitor_pgd_accuracy']:.3f}, FGSM accuracy "
                   f"{fields['monitor_fgsm_accuracy']:.3f}")
    return fields

  state, history = run_epochs(
      state, train_epoch, evaluate, workdir=workdir, fingerprint=fingerprint(config, info),
      epochs=config.epochs, steps_per_epoch=steps_per_epoch,
      learning_rate=config.optimizer.learning_rate, progress=config.progress,
      # The config travels with the checkpoint: evaluation rebuilds the state from it.
      checkpoint_extra={"config": json.loads(config.to_json())})
  return FitResult(model=model, state=state, info=info, test=test_ds,
                   history=history, key=key,
                   catastrophic_overfitting=detect_collapse(history, *co_rule) if monitor
                   else None)
