"""Colour (saturation) prediction: PIL.ImageEnhance.Color, a blend with the gray image.

On one-channel images the gray image is the image itself: every level is the
identity and the task cannot be learned (grayscale digits carry no colour).
Reference: Yamaguchi et al., MP-SSL / IE-Rot (arXiv:1912.11603).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import jax

from jaxrobust.selfsup.pretext._base import Enhancement, blend, grayscale


def saturate(image: jax.Array, factor: jax.Array) -> jax.Array:
  return blend(grayscale(image), image, factor)


@dataclasses.dataclass(frozen=True)
class Color(Enhancement):
  """levels: enhancement factors (1 the identity, 0 gray)."""
  levels: Sequence[float] = (1.0, 0.0, 0.5, 2.0)
  enhance = staticmethod(saturate)
