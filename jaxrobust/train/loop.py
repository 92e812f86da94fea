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
import os
import time
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
from tqdm.auto import tqdm

from jaxrobust import data, defenses, models
from jaxrobust.eval.evaluator import Evaluator
from jaxrobust.train.checkpoint import Checkpointer
from jaxrobust.train.metrics import MetricsLog
from jaxrobust.train.optimizers import make_optimizer
from jaxrobust.train.sharding import data_mesh, replicate, shard_batch
from jaxrobust.train.state import TrainState, init_state, variables
from jaxrobust.train.step import make_train_step

# Independent streams derived from the seed (fold_in tags).
_INIT, _DATA, _STEP, _EVAL = range(4)


@dataclasses.dataclass
class FitResult:
  """What `fit` returns: the trained state and what is needed to use it."""
  model: Any
  state: TrainState
  info: data.DatasetInfo
  test: data.Dataset
  history: list[dict[str, Any]]
  key: jax.Array  # the run's root key, for evaluation streams


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


def fingerprint(config: ml_collections.ConfigDict, info: data.DatasetInfo) -> dict:
  """What must match for a checkpoint to be resumable (JSON-normalised)."""
  return json.loads(json.dumps({
      "dataset": info.name, "input_shape": info.input_shape,
      "num_classes": info.num_classes, "model": config.model.to_dict(),
      # The optimizer's state is part of the checkpoint: another optimizer cannot resume it.
      "optimizer": config.optimizer.name}))


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

  os.makedirs(workdir, exist_ok=True)
  key = jax.random.key(config.seed)
  mesh = data_mesh()
  state = replicate(mesh, init_state(model, tx, info.input_shape,
                                     jax.random.fold_in(key, _INIT)))
  checkpoints = Checkpointer(workdir, fingerprint(config, info))
  log = MetricsLog(workdir)
  start = checkpoints.latest_epoch() or 0
  if start:
    state, _ = checkpoints.restore(start, state)
  log.truncate(start)

  train_step = jax.jit(make_train_step(
      model, defense, tx, crop_padding=config.augment.crop_padding,
      flip=config.augment.flip), donate_argnums=0)
  evaluator = Evaluator(functools.partial(model.apply, train=False),
                        {"clean": None}, config.eval_batch_size)
  data_key, step_key = jax.random.fold_in(key, _DATA), jax.random.fold_in(key, _STEP)

  for epoch in range(start + 1, config.epochs + 1):
    tic = time.perf_counter()
    sums = None
    batches = data.epoch_batches(train_ds.images, train_ds.labels,
                                 config.batch_size, key=data_key, epoch=epoch)
    bar = tqdm(batches, total=steps_per_epoch, desc=f"epoch {epoch}/{config.epochs}",
               disable=not config.progress, leave=False)
    for i, (x, y) in enumerate(bar):
      step = (epoch - 1) * steps_per_epoch + i
      state, metrics = train_step(state, shard_batch(mesh, x, y),
                                  jax.random.fold_in(step_key, step))
      sums = metrics if sums is None else jax.tree.map(jnp.add, sums, metrics)
    record = {"epoch": epoch, "step": int(state.step)}
    record.update({f"train_{k}": float(v) / steps_per_epoch for k, v in sums.items()})
    record["train_time_s"] = time.perf_counter() - tic
    record["test_accuracy"] = evaluator(
        variables(state), test_ds.images, test_ds.labels,
        key=jax.random.fold_in(key, _EVAL))["clean"]
    # Log first: a kill between the two replays this epoch and rewrites its line.
    log.write(record)
    checkpoints.save(epoch, state)
    if config.progress:
      tqdm.write(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in record.items()))
  checkpoints.wait()
  checkpoints.close()
  return FitResult(model=model, state=state, info=info, test=test_ds,
                   history=log.records(), key=key)
