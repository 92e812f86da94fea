"""Training and evaluating speech models on in-memory waveforms, on the in-memory trainer.

The image trainer (`jaxrobust.train.fit`) reads image datasets and augments
[batch, h, w, c] images; speech clips are [batch, samples] held whole on the
device, so speech models (and the self-supervised encoder,
`jaxrobust.audio.ssl`) train on `jaxrobust.train.fit_arrays` (one `lax.scan`
an epoch on the epoch driver): every epoch is checkpointed (orbax, sha256
manifest) into `workdir`, and a killed run restarted with the same call
resumes from the newest intact epoch; every random choice derives from `key`
by fold_in of the epoch, so a resumed run replays the same batches.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrobust import _checks
from jaxrobust.audio._inputs import check_classifier_data, check_run
from jaxrobust.losses import cross_entropy
from jaxrobust.train import (TrainState, fit_arrays, init_state, loss_step, make_schedule,
                             variables)

_INIT, _EPOCH = range(2)
# loss(params, batch, key) -> scalar; batch: a tuple of the data arrays' rows.
BatchLoss = Callable[[Any, tuple, jax.Array], jax.Array]


def module_fields(module) -> dict:
  """A Flax module's configuration as JSON values (a checkpoint fingerprint's part)."""
  fields = {f.name: getattr(module, f.name) for f in dataclasses.fields(module)
            if f.name not in ("parent", "name")}
  return json.loads(json.dumps({"module": type(module).__name__, **fields}, default=str))


def fit_adam_cosine(loss: BatchLoss, params: Any, arrays: tuple, *, key: jax.Array,
                    epochs: int, batch_size: int, learning_rate: float,
                    workdir: str | None, fingerprint: dict,
                    evaluate: Callable[[Any], dict] | None = None,
                    progress: bool = False) -> tuple[Any, list[dict]]:
  """The speech recipe on the in-memory trainer: Adam (cosine schedule) on `loss` over
  shuffled batches of `arrays` (`train.fit_arrays`, resumable in workdir).

  loss(params, batch, key) -> scalar, batch the rows of each array [n, ...];
  evaluate(params) -> fields added to each epoch's record. Epoch e's order is
  permutation(fold_in(k, e)) and step i of it gets fold_in(fold_in(k, e), i), k =
  fold_in(key, 1) (as the checkpoints of earlier runs). Returns (params, the log).
  """
  check_run(epochs, batch_size, learning_rate, len(arrays[0]) if len(arrays) else None)
  steps = len(arrays[0]) // batch_size
  tx = optax.adam(make_schedule("cosine", learning_rate, steps * epochs))
  epoch_key = jax.random.fold_in(key, _EPOCH)
  inner = loss_step(loss, tx)

  def step(state, batch, _):
    epoch, i = state.step // steps + 1, state.step % steps
    return inner(state, batch, jax.random.fold_in(jax.random.fold_in(epoch_key, epoch), i))

  state, history = fit_arrays(
      step, TrainState.create(params, tx), arrays, key=epoch_key, epochs=epochs,
      batch_size=batch_size, workdir=workdir, fingerprint=fingerprint,
      evaluate=evaluate and (lambda state, *_: evaluate(state.params)),
      learning_rate=learning_rate, progress=progress,
      checkpoint_extra={"batch_size": batch_size, "learning_rate": learning_rate,
                        "epochs": epochs})
  return state.params, history


def train_classifier(model, inputs, labels, *, key: jax.Array, epochs: int,
                     batch_size: int = 64, learning_rate: float = 3e-3,
                     workdir: str | None = None, eval_data: tuple | None = None,
                     progress: bool = False) -> dict:
  """Trains `model` by Adam (cosine schedule) on cross-entropy; returns its variables.

  Args:
    model: a Flax classifier without mutable state, inputs [batch, ...] ->
      logits [batch, classes] (e.g. a `jaxrobust.models.speech` model on
      unit-space waveforms).
    inputs: float [n, ...] in the model's input space.
    labels: int [n].
    key: PRNG key; initialisation and each epoch's order fold in from it.
    epochs, batch_size, learning_rate: the run (the last short batch is dropped).
    workdir: checkpoints and metrics.jsonl (`jaxrobust.train.run_epochs`); a
      run restarted on the same workdir resumes. None: a temporary folder.
    eval_data: (inputs [m, ...], labels [m]) whose accuracy each epoch logs as
      test_accuracy.
    progress: print a progress bar and one line per epoch.
  Raises:
    ValueError: inputs/labels differ in length, too few examples, a model with
      mutable state (BatchNorm).
    jaxrobust.train.TrainingDivergedError: a non-finite loss.
  """
  check_classifier_data(model, inputs, labels, epochs, batch_size, learning_rate)
  inputs = jnp.asarray(inputs, jnp.float32)
  labels = jnp.asarray(labels, jnp.int32)
  if len(inputs) != len(labels):
    raise ValueError(f"inputs and labels differ in length: {len(inputs)} vs {len(labels)}.")
  state = init_state(model, optax.identity(), inputs.shape[1:],
                     jax.random.fold_in(key, _INIT))
  if state.model_state:
    raise ValueError("train_classifier trains models without mutable state (no BatchNorm).")

  def loss(params, batch, _):
    x, y = batch
    return jnp.mean(cross_entropy(model.apply({"params": params}, x, train=True), y))

  apply = jax.jit(lambda params, x: model.apply({"params": params}, x))  # compiled once

  def evaluate(params):
    return {"test_accuracy": accuracy(lambda x: apply(params, x), *eval_data)}

  # Strict (key and run included): a checkpoint folder shared by several studies
  # resumes only the very same run.
  fingerprint = {"trainer": "speech classifier", "model": module_fields(model),
                 "input_shape": list(inputs.shape[1:]), "examples": len(labels),
                 "key": np.asarray(jax.random.key_data(key)).tolist(), "epochs": epochs,
                 "batch_size": batch_size, "learning_rate": learning_rate}
  params, _ = fit_adam_cosine(loss, state.params, (inputs, labels), key=key, epochs=epochs,
                              batch_size=batch_size, learning_rate=learning_rate,
                              workdir=workdir, fingerprint=fingerprint,
                              evaluate=None if eval_data is None else evaluate,
                              progress=progress)
  return variables(state.replace(params=params))


def predict(logits_fn: Callable[[jax.Array], jax.Array], inputs, batch_size: int = 256
            ) -> np.ndarray:
  """Predicted labels int [n] of inputs [n, ...], in batches (jit logits_fn yourself)."""
  _checks.check_int("batch_size", batch_size, 1)
  out = [np.asarray(jnp.argmax(logits_fn(jnp.asarray(inputs[i:i + batch_size])), -1))
         for i in range(0, len(inputs), batch_size)]
  return np.concatenate(out) if out else np.zeros((0,), np.int32)


def accuracy(logits_fn, inputs, labels, batch_size: int = 256) -> float:
  """Fraction of inputs [n, ...] classified as labels [n]."""
  _checks.check_same_length(inputs=inputs, labels=labels)
  return float(np.mean(predict(logits_fn, inputs, batch_size) == np.asarray(labels)))
