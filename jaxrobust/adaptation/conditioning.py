"""CDAN's conditioning of the domain discriminator on the classifier's predictions.

The discriminator of CDAN sees the joint variable h = T(f, g) of features f
and class probabilities g: the multilinear map f (x) g (outer product,
flattened), or, when d_f * C is too wide, its randomized approximation
(R_f f) * (R_g g) / sqrt(d) with fixed Gaussian R_f, R_g whose inner products
approximate those of f (x) g in expectation. CDAN+E weights each example by
1 + exp(-H(g)), trusting confident predictions more.

Reference: Long, Cao, Wang & Jordan, "Conditional Adversarial Domain
Adaptation", NeurIPS 2018, Sec. 3.1-3.2 (multilinear and randomized
multilinear conditioning; randomized when d_f * C > 4096, with d = 1024) and
Sec. 3.3 (entropy conditioning).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrobust import _checks

# Long et al. switch to the randomized map above this width, at this output width.
MAX_EXACT_DIM = 4096
RANDOMIZED_DIM = 1024


def multilinear_map(features: jax.Array, probs: jax.Array) -> jax.Array:
  """f (x) g: features [batch, d], probs [batch, C] -> [batch, d * C], entry
  (i * C + c) = f_i g_c."""
  _check_pair(features, probs)
  return (features[:, :, None] * probs[:, None, :]).reshape(features.shape[0], -1)


def randomized_multilinear_map(features: jax.Array, probs: jax.Array,
                               key: jax.Array, dim: int = RANDOMIZED_DIM) -> jax.Array:
  """(R_f f) * (R_g g) / sqrt(dim) -> [batch, dim], R_f [d, dim] and R_g [C, dim] standard
  Gaussian drawn from `key` (fixed for a run: the same key gives the same map).

  E[<T(f, g), T(f', g')>] = <f, f'> <g, g'> = <f (x) g, f' (x) g'>.
  """
  _check_pair(features, probs)
  _checks.check_int_at_least("dim", dim, 1)
  key_f, key_g = jax.random.split(key)
  r_f = jax.random.normal(key_f, (features.shape[1], dim), features.dtype)
  r_g = jax.random.normal(key_g, (probs.shape[1], dim), features.dtype)
  return (features @ r_f) * (probs @ r_g) / jnp.sqrt(jnp.asarray(dim, features.dtype))


def conditioning_dim(feature_dim: int, num_classes: int, randomized_dim: int = 0) -> int:
  """The width of T(f, g): d * C for the exact map, else the randomized width.

  randomized_dim 0 chooses as Long et al. do: exact up to MAX_EXACT_DIM, else
  RANDOMIZED_DIM.
  """
  _checks.check_int("feature_dim", feature_dim, 1)
  _checks.check_int("num_classes", num_classes, 1)
  _checks.check_int("randomized_dim", randomized_dim, 0)
  if randomized_dim:
    return randomized_dim
  exact = feature_dim * num_classes
  return exact if exact <= MAX_EXACT_DIM else RANDOMIZED_DIM


def condition(features: jax.Array, probs: jax.Array, key: jax.Array,
              randomized_dim: int = 0) -> jax.Array:
  """T(f, g) [batch, conditioning_dim(...)]: the exact or the randomized map."""
  _check_pair(features, probs)
  _checks.check_int("randomized_dim", randomized_dim, 0)
  d, c = features.shape[1], probs.shape[1]
  if not randomized_dim and d * c <= MAX_EXACT_DIM:
    return multilinear_map(features, probs)
  return randomized_multilinear_map(features, probs, key,
                                    conditioning_dim(d, c, randomized_dim))


def entropy(probs: jax.Array) -> jax.Array:
  """H(g) = -sum_c g_c log g_c per example: probs [batch, C] -> [batch] (0 log 0 = 0)."""
  _checks.check_logits("probs", probs)
  _checks.check_probabilities("probs", probs)
  return -jnp.sum(jnp.where(probs > 0, probs * jnp.log(jnp.where(probs > 0, probs, 1.0)), 0.0),
                  axis=-1)


def entropy_weights(probs: jax.Array) -> jax.Array:
  """CDAN+E's example weights w = 1 + exp(-H(g)): probs [batch, C] -> [batch], in
  [1 + 1/C, 2] (uniform prediction to one-hot)."""
  return 1.0 + jnp.exp(-entropy(probs))


def _check_pair(features, probs) -> None:
  _checks.check_ndim("features", features, ("batch", "dim"))
  _checks.check_logits("probs", probs)
  _checks.check_probabilities("probs", probs)
  _checks.check_same_length(features=features, probs=probs)
