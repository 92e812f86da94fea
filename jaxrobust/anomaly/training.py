"""Training a detector on the library's epoch loop, scoring, and AUROC.

Training is the in-memory trainer's (`train.fit_arrays`: one jitted `lax.scan`
an epoch, resumable, checkpoints and the metrics log on `run_epochs`).
"""

from __future__ import annotations

import dataclasses
import json
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from sklearn.metrics import roc_auc_score

from jaxrobust import _checks, data
from jaxrobust.anomaly._base import Detector
from jaxrobust.data.info import DatasetInfo
from jaxrobust.train.arrays import fit_arrays
from jaxrobust.train.state import TrainState


class FitResult(NamedTuple):
  """module: the detector's network; state: TrainState (model_state holds the
  detector's fixed extras, e.g. Deep SAD's centre); history: one record per epoch."""
  detector: Detector
  module: nn.Module
  state: TrainState
  history: list


def fit_detector(detector: Detector, images: np.ndarray, labels: np.ndarray,
                 info: DatasetInfo, *, workdir: str, epochs: int, batch_size: int,
                 learning_rate: float = 1e-3, weight_decay: float = 0.0, seed: int = 0,
                 progress: bool = False) -> FitResult:
  """Trains `detector` on images [n, h, w, c] (uint8 or float in [0, 1]) with labels
  [n] (0 normal, 1 known anomaly) by Adam(W); resumable in `workdir`.

  A detector that does not use anomalies (the autoencoder) trains on the
  normal points alone.
  """
  labels = np.asarray(labels)
  if not isinstance(detector, Detector):
    raise TypeError(f"detector must be an anomaly Detector (anomaly.make), got "
                    f"{type(detector).__name__}.")
  _checks.check_image_batch("images", images)
  if len(images) != len(labels):
    raise ValueError(f"images and labels differ in length: {len(images)} vs {len(labels)}.")
  if not np.isin(labels, (0, 1)).all():
    raise ValueError("labels must be 0 (normal) or 1 (known anomaly).")
  _checks.check_int_at_least("epochs", epochs, 1)
  _checks.check_int("batch_size", batch_size, 1)
  _checks.check_int("seed", seed, 0)
  _checks.check_optimizer(learning_rate, weight_decay)
  if not detector.uses_anomalies:
    images, labels = images[labels == 0], labels[labels == 0]
  x_all = data.to_float(images)
  y_all = jnp.asarray(labels, jnp.int32)
  steps = data.num_batches(len(labels), batch_size)
  if steps == 0:
    raise ValueError(f"batch_size={batch_size} exceeds the {len(labels)} training examples.")

  module = detector.build(info)
  key = jax.random.key(seed)
  params = module.init(jax.random.fold_in(key, 0), x_all[:1])["params"]
  tx = optax.adamw(learning_rate, weight_decay=weight_decay)
  extra = detector.init_extra(module, params, x_all[np.asarray(labels) == 0])
  state = TrainState.create(params, tx, extra)

  def step(state, batch, _):
    x, y = batch
    loss, grads = jax.value_and_grad(lambda p: detector.losses(
        module, p, state.model_state, x, y).mean())(state.params)
    return state.apply_gradients(grads, tx), {"loss": loss, "grad_norm": optax.tree.norm(grads)}

  fingerprint = json.loads(json.dumps({
      "detector": type(detector).__name__, **dataclasses.asdict(detector),
      "examples": len(labels), "anomalies": int(labels.sum()), "seed": seed,
      "batch_size": batch_size, "learning_rate": learning_rate}))
  state, history = fit_arrays(step, state, (x_all, y_all), key=jax.random.fold_in(key, 1),
                              epochs=epochs, batch_size=batch_size, workdir=workdir,
                              fingerprint=fingerprint, learning_rate=learning_rate,
                              progress=progress)
  return FitResult(detector, module, state, history)


def anomaly_scores(result: FitResult, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
  """The detector's anomaly scores [n] (higher: more anomalous) of images [n, h, w, c]."""
  _checks.check_image_batch("images", images)
  _checks.check_int("batch_size", batch_size, 1)
  score = jax.jit(lambda params, extra, x: result.detector.scores(result.module, params,
                                                                   extra, x))
  out = [np.asarray(score(result.state.params, result.state.model_state, data.to_float(x)))
         for x, _ in data.sequential_batches(images, np.zeros(len(images)), batch_size)]
  return np.concatenate(out)


def auroc(normal_scores: np.ndarray, anomaly_scores: np.ndarray) -> float:
  """Area under the ROC curve of anomalies (positives) against normal points."""
  for name, s in (("normal_scores", normal_scores), ("anomaly_scores", anomaly_scores)):
    if np.ndim(s) != 1:
      raise ValueError(f"{name} must be one score per example [n], got shape {np.shape(s)}.")
    _checks.check_array_range(name, np.asarray(s, np.float64))
  if len(normal_scores) == 0 or len(anomaly_scores) == 0:
    raise ValueError("auroc needs at least one normal and one anomalous score.")
  y = np.concatenate([np.zeros(len(normal_scores)), np.ones(len(anomaly_scores))])
  return float(roc_auc_score(y, np.concatenate([normal_scores, anomaly_scores])))
