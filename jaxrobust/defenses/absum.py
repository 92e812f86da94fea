"""Absum: penalise |sum of each convolution filter's weights|, by its proximal step.

References:
  Kanai, Ida, Fujiwara, Yamada & Adachi, "Absum: Simple Regularization Method
  for Reducing Structural Sensitivity of Convolutional Neural Networks",
  AAAI 2020.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxrobust import _checks

# Flax convolution kernels are [*spatial, in, out]; a filter is the spatial
# kernel of one (in, out) pair, whose sum is the response to a constant input.


def _is_conv_kernel(path, leaf) -> bool:
  name = getattr(path[-1], "key", None)
  return name == "kernel" and leaf.ndim >= 3


def absum_penalty(params: Any) -> jax.Array:
  """sum over conv filters of |sum of the filter's spatial weights| (a scalar)."""
  total = jnp.zeros((), jnp.float32)
  for path, leaf in jax.tree_util.tree_leaves_with_path(params):
    if _is_conv_kernel(path, leaf):
      spatial = tuple(range(leaf.ndim - 2))
      total = total + jnp.sum(jnp.abs(jnp.sum(leaf, axis=spatial)))
  return total


def prox_filter_sum(w: jax.Array, threshold, axes) -> jax.Array:
  """argmin_u 1/2 ||u - w||^2 + threshold * |sum_{axes} u| for each filter.

  Write s = sum(w) over the n entries of a filter. The penalty depends on u
  only through sum(u), so the minimiser moves all n entries by the same t:
  u = w - t. Then sum(u) = s - n t and the problem in r = s - n t is
  min_r (s - r)^2 / (2n) + threshold |r|, a soft-threshold at n * threshold:
  r = sign(s) max(|s| - n threshold, 0). Hence
  t = (s - r) / n = clip(s / n, -threshold, threshold): a filter whose mean
  is within the threshold becomes exactly zero-sum.
  """
  n = 1
  for a in axes:
    n *= w.shape[a]
  mean = jnp.sum(w, axis=axes, keepdims=True) / n
  return w - jnp.clip(mean, -threshold, threshold)


def absum_prox(params: Any, threshold) -> Any:
  """The proximal step of threshold * absum_penalty on every conv kernel.

  After a gradient step of size eta, threshold = eta * lambda (proximal
  gradient); other parameters are returned unchanged.
  """
  _checks.check_number("threshold", threshold, low=0)
  def one(path, leaf):
    if not _is_conv_kernel(path, leaf):
      return leaf
    return prox_filter_sum(leaf, threshold, tuple(range(leaf.ndim - 2)))
  return jax.tree_util.tree_map_with_path(one, params)
