"""Checks of the audio trainers' inputs, one line at the top of each trainer."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import _checks


def check_run(epochs, batch_size, learning_rate, n: int | None = None) -> None:
  """epochs >= 1, 1 <= batch_size (<= n examples, the last short batch is dropped), a
  learning rate > 0."""
  _checks.check_int("epochs", epochs, 1)
  _checks.check_int("batch_size", batch_size, 1, n)
  _checks.check_real("learning_rate", learning_rate, low=0, low_open=True)


def model_classes(model, inputs) -> int | None:
  """The class count of a Flax classifier's logits [batch, classes] on inputs [n, ...]
  (by `jax.eval_shape`: nothing is computed), or None if it does not trace so."""
  spec = jax.ShapeDtypeStruct((1,) + tuple(np.shape(inputs)[1:]), jnp.float32)
  try:
    out = jax.eval_shape(lambda x: model.init_with_output(jax.random.key(0), x)[0], spec)
  except Exception:  # pylint: disable=broad-except  # init raises its own error later
    return None
  return out.shape[-1] if len(getattr(out, "shape", ())) == 2 else None


def check_classifier_data(model, inputs, labels, epochs, batch_size, learning_rate) -> None:
  """inputs float [n, ...] finite, labels int [n] in [0, the model's classes), the run."""
  _checks.check_same_length(inputs=inputs, labels=labels)
  _checks.check_array_range("inputs", np.asarray(inputs, np.float32))
  _checks.check_labels("labels", np.asarray(labels), model_classes(model, inputs))
  check_run(epochs, batch_size, learning_rate, len(labels))
