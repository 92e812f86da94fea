"""Contrast prediction: PIL.ImageEnhance.Contrast, a blend with the image's mean gray level.

Without clipping, contrast at f then at 1/f restores the image (the mean is
kept). Reference: Yamaguchi et al., MP-SSL / IE-Rot (arXiv:1912.11603).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import jax
import jax.numpy as jnp

from jaxrobust.selfsup.pretext._base import Enhancement, blend, check_image, grayscale


def contrast(image: jax.Array, factor: jax.Array) -> jax.Array:
  """Contrast about the image's mean gray level: one image [h, w, c] (a batch would
  take the batch's mean)."""
  check_image("image", image)
  return blend(jnp.full_like(image, grayscale(image).mean()), image, factor)


@dataclasses.dataclass(frozen=True)
class Contrast(Enhancement):
  """levels: enhancement factors (1 the identity)."""
  levels: Sequence[float] = (1.0, 0.3, 0.6, 1.6)
  enhance = staticmethod(contrast)
