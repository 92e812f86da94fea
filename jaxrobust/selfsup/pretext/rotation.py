"""Rotation prediction: which of 0, 90, 180, 270 degrees the image was turned by.

Reference: Gidaris, Singh & Komodakis, "Unsupervised Representation Learning
by Predicting Image Rotations", ICLR 2018.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import jax
import jax.numpy as jnp

from jaxrobust.selfsup.pretext._base import PretextTask, check_image


def rotate90(image: jax.Array, k: jax.Array) -> jax.Array:
  """image [h, w, c] turned counter-clockwise by k quarter turns (k traced, any int)."""
  check_image("image", image)
  if image.shape[0] != image.shape[1]:
    raise ValueError(f"rotation needs square images, got {image.shape[:2]}.")
  return jax.lax.switch(jnp.mod(k, 4).astype(jnp.int32),
                        [lambda x, i=i: jnp.rot90(x, i, axes=(0, 1)) for i in range(4)], image)


@dataclasses.dataclass(frozen=True)
class Rotation(PretextTask):
  """levels: quarter turns, a subset of (0, 1, 2, 3)."""
  levels: Sequence[float] = (0, 1, 2, 3)

  def check_levels(self, levels):
    if any(v not in (0.0, 1.0, 2.0, 3.0) for v in levels):
      raise ValueError(f"Rotation levels are quarter turns in (0, 1, 2, 3), got {levels}.")

  def transform(self, image, magnitude):
    return rotate90(image, magnitude.astype(jnp.int32))
