"""Per-example classification losses: logits [batch, classes], labels [batch] -> [batch]."""

from __future__ import annotations

from typing import Callable

import jax
import optax

LossFn = Callable[[jax.Array, jax.Array], jax.Array]


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
  """Softmax cross-entropy with integer labels, [batch]."""
  return optax.softmax_cross_entropy_with_integer_labels(logits, labels)


LOSSES: dict[str, LossFn] = {"ce": cross_entropy}


def get_loss(name: str) -> LossFn:
  """A per-example loss by name; unknown names raise listing the choices."""
  if name not in LOSSES:
    raise ValueError(f"Unknown loss {name!r}; valid choices: {tuple(LOSSES)}.")
  return LOSSES[name]
