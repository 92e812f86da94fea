"""Models trained by `fit`, restored from their workdir for evaluation."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import jax
import ml_collections

from jaxrobust import data
from jaxrobust.train import loop
from jaxrobust.train.checkpoint import Checkpointer
from jaxrobust.train.optimizers import make_optimizer
from jaxrobust.train.state import init_state, variables


@dataclasses.dataclass
class TrainedModel:
  """A restored model: the module, its variables and the data it was trained on."""
  workdir: str
  epoch: int
  model: Any
  variables: dict[str, Any]
  info: data.DatasetInfo
  fingerprint: dict[str, Any]
  config: ml_collections.ConfigDict  # the training run's


def _tuples(value):
  """JSON lists back to the tuples a config held (hashable module fields)."""
  if isinstance(value, list):
    return tuple(_tuples(v) for v in value)
  if isinstance(value, dict):
    return {k: _tuples(v) for k, v in value.items()}
  return value


def load_trained(workdir: str, epoch: int | None = None,
                 data_dir: str | None = None, sharding: Any = None) -> TrainedModel:
  """Restores the model of a `fit` workdir at `epoch` (default: the newest).

  On any number of devices, whatever the run was trained on: the variables
  are placed by `sharding` (see `Checkpointer.restore`; default replicated
  over every device).

  The checkpoint carries the run's config: the model, optimizer and train
  state are rebuilt from it, so the variables are those `fit` evaluates (the
  clean weights under PSATT). The dataset is loaded for its normalisation
  statistics (the model's input layer).
  """
  if not os.path.isdir(os.path.join(workdir, "checkpoints")):
    raise FileNotFoundError(f"{workdir!r} holds no checkpoints/ directory: pass the "
                            "--workdir of a finished or interrupted experiments.train run.")
  reader = Checkpointer(workdir, fingerprint={})
  try:
    epochs = reader.epochs()
    if not epochs:
      raise FileNotFoundError(f"{workdir!r} holds no complete checkpoint yet.")
    if epoch is None:
      epoch = epochs[-1]
    elif epoch not in epochs:
      raise ValueError(f"{workdir!r} has no checkpoint of epoch {epoch}; "
                       f"saved epochs: {epochs}.")
    reader.check_intact(epoch)  # before reading anything of it
    meta = reader.restore_meta(epoch)
    if "config" not in meta:
      raise ValueError(f"the checkpoint of epoch {epoch} in {workdir!r} carries no "
                       "config (written by an older jaxrobust): retrain it.")
    config = ml_collections.ConfigDict(_tuples(meta["config"]))
    info = data.load(config.dataset, "test", data_dir).info
    model = loop.build_model(config, info)
    tx = make_optimizer(config.optimizer, total_steps=1)  # the schedule is not restored
    like = jax.eval_shape(lambda: init_state(model, tx, info.input_shape, jax.random.key(0)))
    reader.fingerprint = meta["fingerprint"]
    state, _ = reader.restore(epoch, like, sharding)
  finally:
    reader.close()
  return TrainedModel(workdir=workdir, epoch=epoch, model=model, variables=variables(state),
                      info=info, fingerprint=meta["fingerprint"], config=config)
