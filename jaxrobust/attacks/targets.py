"""Target labels for targeted attacks (the attack then descends its loss toward them)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrobust import _checks


def random_targets(key: jax.Array, labels: jax.Array, num_classes: int) -> jax.Array:
  """A uniformly random class != the label, per example, int32 [batch]."""
  _checks.check_int_at_least("num_classes", num_classes, 2)
  _checks.check_labels("labels", labels, num_classes)
  offset = jax.random.randint(key, labels.shape, 1, num_classes)
  return ((labels + offset) % num_classes).astype(jnp.int32)


def least_likely_targets(logits: jax.Array) -> jax.Array:
  """The class with the lowest logit, per example, int32 [batch] (Kurakin et al., 2017)."""
  _checks.check_logits("logits", logits, min_classes=2)
  return jnp.argmin(logits, axis=-1).astype(jnp.int32)
