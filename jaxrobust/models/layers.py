"""Layers shared by all models: input checks and normalization inside the model."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp


class Normalize(nn.Module):
  """(x - mean) / std per channel, after checking x is a float image batch.

  Normalization lives in the model so that attacks and measures always work
  in pixel space [0, 1] (DESIGN.md: never an attack option).

  Attributes:
    mean, std: per-channel statistics, length = channels.
  """
  mean: Sequence[float]
  std: Sequence[float]

  @nn.compact
  def __call__(self, x):
    check_images(x, channels=len(self.mean))
    mean = jnp.asarray(self.mean, x.dtype)
    std = jnp.asarray(self.std, x.dtype)
    return (x - mean) / std


def check_images(x, channels: int) -> None:
  """Raises a clear error unless x is float [batch, h, w, channels]."""
  if not jnp.issubdtype(x.dtype, jnp.floating):
    raise TypeError(
        f"Model inputs must be floating point in [0, 1], got dtype {x.dtype}; "
        "convert uint8 images with jaxrobust.data.to_float.")
  if x.ndim != 4 or x.shape[-1] != channels:
    raise ValueError(
        f"Model inputs must have shape [batch, height, width, {channels}], "
        f"got {tuple(x.shape)}.")


def batch_norm(train: bool) -> nn.BatchNorm:
  """BatchNorm with PyTorch's defaults (momentum 0.1 -> flax 0.9, eps 1e-5)."""
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)
