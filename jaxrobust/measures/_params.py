"""Parameter pytrees as the weight matrices the norm- and flatness-based measures see."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

# Flax names the weights of Dense and Conv "kernel"; biases "bias"; norm layers "scale".
WEIGHT_NAMES = ("kernel",)


def _name(path) -> str:
  last = path[-1]
  return str(getattr(last, "key", getattr(last, "name", last)))


def is_weight(path) -> bool:
  """True for a weight leaf (a Dense or Conv kernel); biases and norm layers are not."""
  return _name(path) in WEIGHT_NAMES


def weight_matrices(params: Any) -> list[jax.Array]:
  """Each weight as a matrix [fan_in, out]: a Dense kernel as is, a Conv kernel
  [k, k, in, out] reshaped to [k * k * in, out] (the singular values of PyTorch's
  weight.view(out, -1), its transpose)."""
  leaves = jax.tree_util.tree_flatten_with_path(params)[0]
  mats = [leaf.reshape(-1, leaf.shape[-1]) for path, leaf in leaves if is_weight(path)]
  if not mats:
    raise ValueError("params hold no weight matrices (leaves named 'kernel', as Flax's "
                     "Dense and Conv name them); the norm-based measures need them.")
  return mats


def weight_vector(params: Any) -> jax.Array:
  """All weights (no biases, no norm-layer parameters) as one vector [d_w]."""
  return jnp.concatenate([m.reshape(-1) for m in weight_matrices(params)])


def squared_params(params: Any) -> Any:
  """Every parameter squared elementwise, weights and biases alike: the path-norm
  network of Jiang et al. 2020 (their code squares each parameter in place)."""
  return jax.tree.map(lambda leaf: leaf * leaf, params)
