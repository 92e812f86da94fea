"""Brightness prediction: PIL.ImageEnhance.Brightness, a blend with black.

Without clipping, brightness at f then at 1/f restores the image.
Reference: Yamaguchi et al., MP-SSL / IE-Rot (arXiv:1912.11603).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import jax
import jax.numpy as jnp

from jaxrobust.selfsup.pretext._base import Enhancement, blend


def brighten(image: jax.Array, factor: jax.Array) -> jax.Array:
  return blend(jnp.zeros_like(image), image, factor)


@dataclasses.dataclass(frozen=True)
class Brightness(Enhancement):
  """levels: enhancement factors (1 the identity)."""
  levels: Sequence[float] = (1.0, 0.3, 0.6, 1.6)
  enhance = staticmethod(brighten)
