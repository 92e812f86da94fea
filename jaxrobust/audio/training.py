"""Training and evaluating speech models on in-memory waveforms.

The image trainer (`jaxrobust.train.fit`) reads image datasets and augments
[batch, h, w, c] images; speech clips are [batch, samples], so speech models
train here: the same pieces (`jaxrobust.train.make_schedule`, `TrainState`
layout via `init_state`, `jaxrobust.losses.cross_entropy`) on the whole split
held on the device, an epoch being one jitted `lax.scan` (as
`jaxrobust.train.forecast`). Every random choice derives from `key` by fold_in.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrobust.losses import cross_entropy

_INIT, _EPOCH = range(2)


def train_classifier(model, inputs, labels, *, key: jax.Array, epochs: int,
                     batch_size: int = 64, learning_rate: float = 3e-3,
                     progress: Callable[[int, float], Any] | None = None) -> dict:
  """Trains `model` by Adam (cosine schedule) on cross-entropy; returns its variables.

  Args:
    model: a Flax classifier, inputs [batch, ...] -> logits [batch, classes]
      (e.g. a `jaxrobust.models.speech` model on unit-space waveforms).
    inputs: float [n, ...] in the model's input space.
    labels: int [n].
    key: PRNG key; initialisation and each epoch's order fold in from it.
    epochs, batch_size, learning_rate: the run (the last short batch is dropped).
    progress: called as progress(epoch, mean training loss) after each epoch.
  """
  # Imported here: jaxrobust.train imports models, whose speech models import this package.
  from jaxrobust.train import init_state, make_schedule, variables
  inputs = jnp.asarray(inputs, jnp.float32)
  labels = jnp.asarray(labels, jnp.int32)
  if len(inputs) != len(labels):
    raise ValueError(f"inputs and labels differ in length: {len(inputs)} vs {len(labels)}.")
  steps = len(labels) // batch_size
  if steps < 1 or epochs < 1:
    raise ValueError(f"need epochs >= 1 and batch_size <= {len(labels)} examples, got "
                     f"epochs={epochs}, batch_size={batch_size}.")
  tx = optax.adam(make_schedule("cosine", learning_rate, steps * epochs))
  state = init_state(model, tx, inputs.shape[1:], jax.random.fold_in(key, _INIT))
  if state.model_state:
    raise ValueError("train_classifier trains models without mutable state (no BatchNorm).")

  def batch_loss(params, x, y):
    return jnp.mean(cross_entropy(model.apply({"params": params}, x, train=True), y))

  @jax.jit
  def epoch(params, opt_state, epoch_key):
    order = jax.random.permutation(epoch_key, len(labels))[:steps * batch_size]

    def step(carry, idx):
      params, opt_state = carry
      loss, grads = jax.value_and_grad(batch_loss)(params, inputs[idx], labels[idx])
      updates, opt_state = tx.update(grads, opt_state, params)
      return (optax.apply_updates(params, updates), opt_state), loss

    (params, opt_state), losses = jax.lax.scan(step, (params, opt_state),
                                               order.reshape(steps, batch_size))
    return params, opt_state, losses.mean()

  params, opt_state = state.params, state.opt_state
  for e in range(1, epochs + 1):
    params, opt_state, loss = epoch(params, opt_state,
                                    jax.random.fold_in(jax.random.fold_in(key, _EPOCH), e))
    if not np.isfinite(float(loss)):
      raise FloatingPointError(f"training diverged in epoch {e} (loss {float(loss)}); "
                               f"lower learning_rate={learning_rate}.")
    if progress is not None:
      progress(e, float(loss))
  return variables(state.replace(params=params, opt_state=opt_state))


def predict(logits_fn: Callable[[jax.Array], jax.Array], inputs, batch_size: int = 256
            ) -> np.ndarray:
  """Predicted labels int [n] of inputs [n, ...], in batches (jit logits_fn yourself)."""
  out = [np.asarray(jnp.argmax(logits_fn(jnp.asarray(inputs[i:i + batch_size])), -1))
         for i in range(0, len(inputs), batch_size)]
  return np.concatenate(out) if out else np.zeros((0,), np.int32)


def accuracy(logits_fn, inputs, labels, batch_size: int = 256) -> float:
  """Fraction of inputs [n, ...] classified as labels [n]."""
  return float(np.mean(predict(logits_fn, inputs, batch_size) == np.asarray(labels)))
