"""Sharpness prediction: PIL.ImageEnhance.Sharpness at one of several factors.

The degenerate image is PIL's SMOOTH filter (3x3 kernel [[1,1,1],[1,5,1],
[1,1,1]] / 13, border pixels kept); factor 0 blurs, 1 is the identity, > 1
sharpens. Reference: Yamaguchi et al., MP-SSL / IE-Rot (arXiv:1912.11603),
"sharpening" as a pretext task.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import jax
import jax.numpy as jnp

from jaxrobust.selfsup.pretext._base import Enhancement, blend, check_image

_SMOOTH = jnp.array([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]]) / 13.0


def smooth(image: jax.Array) -> jax.Array:
  """PIL's SMOOTH filter per channel, borders unchanged: [h, w, c] -> [h, w, c]."""
  check_image("image", image)
  inner = jax.vmap(lambda ch: jax.scipy.signal.convolve2d(ch, _SMOOTH, mode="valid"),
                   in_axes=-1, out_axes=-1)(image)
  return image.at[1:-1, 1:-1].set(inner.astype(image.dtype))


def sharpen(image: jax.Array, factor: jax.Array) -> jax.Array:
  return blend(smooth(image), image, factor)


@dataclasses.dataclass(frozen=True)
class Sharpness(Enhancement):
  """levels: enhancement factors (1 the identity)."""
  levels: Sequence[float] = (1.0, 0.0, 2.0, 3.0)
  enhance = staticmethod(sharpen)
