"""The training loop: data, model, defense and optimizer from a config, with exact resume.

A run is a pure function of its config: every random choice derives from
`config.seed` by fold_in (epoch order by epoch, step keys by global step), and
the whole TrainState is checkpointed after every epoch. A run killed at any
point and restarted with the same command replays the interrupted epoch and
ends with bit-identical parameters.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import time
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
from tqdm.auto import tqdm

from jaxrobust import data, defenses, models
from jaxrobust.defenses.absum import absum_prox
from jaxrobust.eval.evaluator import Evaluator
from jaxrobust.train.checkpoint import Checkpointer
from jaxrobust.train.metrics import MetricsLog
from jaxrobust.train.monitor import COMonitor, detect_collapse
from jaxrobust.train.optimizers import make_optimizer, make_schedule
from jaxrobust.train.sharding import data_mesh, replicate, shard_batch
from jaxrobust.train.state import TrainState, init_state, variables
from jaxrobust.train.step import make_train_step

# Independent streams derived from the seed (fold_in tags).
_INIT, _DATA, _STEP, _EVAL, _MONITOR = range(5)


class TrainingDivergedError(RuntimeError):
  """A non-finite loss or gradient norm: the run stopped, its last checkpoint is finite."""


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
  return models.create(config.model.name, num_classes=info.num_classes,
                       mean=info.mean, std=info.std, **_options(config.model))


def build_monitor(config: ml_collections.ConfigDict, model, test: data.Dataset,
                  key: jax.Array) -> COMonitor | None:
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
  eps = m.get("eps", 0.0) or config.defense.get("eps", 0.0)
  if not eps > 0:
    raise ValueError(f"config.monitor.eps must be > 0 (or 0 with a defense eps > 0), "
                     f"got {m.get('eps')!r}.")
  steps = m.get("pgd_steps", 10)
  if not isinstance(steps, int) or steps < 1:
    raise ValueError(f"config.monitor.pgd_steps must be an integer >= 1, got {steps!r}.")
  detect_collapse([], m.get("drop", 0.2), m.get("gap", 0.5))  # validated now, not after epoch 1
  return COMonitor(functools.partial(model.apply, train=False), test.images[:n],
                   test.labels[:n], eps=float(eps), pgd_steps=steps, key=key)


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
      "optimizer": config.optimizer.name, "sharpness_aware": _sharpness_aware(config)}))


def _sharpness_aware(config: ml_collections.ConfigDict) -> str | None:
  sam = config.optimizer.get("sam")
  return sam.get("kind", "sam") if sam is not None and sam.get("rho", 0.0) > 0 else None


def _stop_diverged(config, workdir, epoch, per_step, sums, checkpoints) -> None:
  """Raises TrainingDivergedError; nothing of the diverged epoch is saved or logged.

  per_step: (global step, loss, grad_norm) of the epoch's steps, to name the first bad one.
  """
  checkpoints.wait()
  checkpoints.close()
  step = next(s for s, *values in per_step if not all(math.isfinite(float(v)) for v in values))
  bad = sorted(k for k, v in sums.items() if not math.isfinite(float(v)))
  kept = checkpoints.epochs()
  raise TrainingDivergedError(
      f"training diverged in epoch {epoch}: {', '.join(bad)} not finite from step {step} "
      f"(learning rate {config.optimizer.learning_rate}). Nothing of epoch {epoch} was saved; "
      + (f"the newest checkpoint, epoch {kept[-1]} in {workdir}, is finite."
         if kept else "no checkpoint was written."))


def fit(config: ml_collections.ConfigDict, workdir: str) -> FitResult:
  """Trains as the config says, resuming from the newest checkpoint in workdir."""
  _check(config)
  data_dir = config.get("data_dir") or None
  train_ds = data.load(config.dataset, "train", data_dir)
  test_ds = data.load(config.dataset, "test", data_dir)
  info = train_ds.info
  model = build_model(config, info)
  defense = defenses.from_config(config.defense.to_dict())
  steps_per_epoch = data.num_batches(len(train_ds.labels), config.batch_size)
  if steps_per_epoch == 0:
    raise ValueError(f"config.batch_size={config.batch_size} exceeds the "
                     f"{len(train_ds.labels)} training examples.")
  tx = make_optimizer(config.optimizer, steps_per_epoch * config.epochs)
  prox = build_prox(config, steps_per_epoch * config.epochs)

  os.makedirs(workdir, exist_ok=True)
  key = jax.random.key(config.seed)
  mesh = data_mesh()
  state = replicate(mesh, init_state(model, tx, info.input_shape,
                                     jax.random.fold_in(key, _INIT)))
  checkpoints = Checkpointer(workdir, fingerprint(config, info))
  log = MetricsLog(workdir)
  start = checkpoints.newest_intact_epoch(report=tqdm.write) or 0
  if start:
    state, _ = checkpoints.restore(start, state)
  log.truncate(start)

  train_step = jax.jit(make_train_step(
      model, defense, tx, crop_padding=config.augment.crop_padding,
      flip=config.augment.flip, prox=prox), donate_argnums=0)
  monitor = build_monitor(config, model, test_ds, jax.random.fold_in(key, _MONITOR))
  co_rule = ((config.monitor.get("drop", 0.2), config.monitor.get("gap", 0.5))
             if monitor else None)
  evaluator = Evaluator(functools.partial(model.apply, train=False),
                        {"clean": None}, config.eval_batch_size)
  data_key, step_key = jax.random.fold_in(key, _DATA), jax.random.fold_in(key, _STEP)

  for epoch in range(start + 1, config.epochs + 1):
    tic = time.perf_counter()
    sums, per_step = None, []
    batches = data.epoch_batches(train_ds.images, train_ds.labels,
                                 config.batch_size, key=data_key, epoch=epoch)
    bar = tqdm(batches, total=steps_per_epoch, desc=f"epoch {epoch}/{config.epochs}",
               disable=not config.progress, leave=False)
    for i, (x, y) in enumerate(bar):
      step = (epoch - 1) * steps_per_epoch + i
      state, metrics = train_step(state, shard_batch(mesh, x, y),
                                  jax.random.fold_in(step_key, step))
      sums = metrics if sums is None else jax.tree.map(jnp.add, sums, metrics)
      per_step.append((step, metrics["loss"], metrics["grad_norm"]))  # device values, no sync
    if not all(math.isfinite(float(sums[k])) for k in ("loss", "grad_norm")):
      _stop_diverged(config, workdir, epoch, per_step, sums, checkpoints)
    record = {"epoch": epoch, "step": int(state.step)}
    record.update({f"train_{k}": float(v) / steps_per_epoch for k, v in sums.items()})
    record["train_time_s"] = time.perf_counter() - tic
    record["test_accuracy"] = evaluator(
        variables(state), test_ds.images, test_ds.labels,
        key=jax.random.fold_in(key, _EVAL))["clean"]
    if monitor:
      record.update(monitor(variables(state)))
      # Earlier epochs come from the log, so a resumed run flags the same epoch.
      if detect_collapse(log.records() + [record], *co_rule) == epoch:
        record["catastrophic_overfitting"] = True
        tqdm.write(f"catastrophic overfitting at epoch {epoch}: PGD accuracy "
                   f"{record['monitor_pgd_accuracy']:.3f}, FGSM accuracy "
                   f"{record['monitor_fgsm_accuracy']:.3f}")
    # Log first: a kill between the two replays this epoch and rewrites its line.
    log.write(record)
    # The config travels with the checkpoint: evaluation rebuilds the state from it.
    checkpoints.save(epoch, state, extra={"config": json.loads(config.to_json())})
    if config.progress:
      tqdm.write(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in record.items()))
  checkpoints.wait()
  checkpoints.close()
  history = log.records()
  return FitResult(model=model, state=state, info=info, test=test_ds,
                   history=history, key=key,
                   catastrophic_overfitting=detect_collapse(history, *co_rule) if monitor
                   else None)
