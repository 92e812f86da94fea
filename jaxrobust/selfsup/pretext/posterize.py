"""Posterizing prediction: keep the top `bits` bits of each 8-bit pixel (PIL.ImageOps.posterize).

8 bits is the identity on 8-bit images; posterizing is idempotent.
Reference: Yamaguchi et al., MP-SSL / IE-Rot (arXiv:1912.11603), after
AutoAugment's image operations (Cubuk et al., CVPR 2019).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import jax
import jax.numpy as jnp

from jaxrobust import _checks
from jaxrobust.selfsup.pretext._base import PretextTask, check_image


def posterize(image: jax.Array, bits: jax.Array) -> jax.Array:
  """The top `bits` bits in [1, 8] of each 8-bit pixel: image [h, w, c] in [0, 1]."""
  check_image("image", image, one=False)
  _checks.check_number("bits", bits, low=1, high=8)
  step = 2.0 ** (8.0 - bits)
  return jnp.floor(jnp.round(image * 255.0) / step) * step / 255.0


@dataclasses.dataclass(frozen=True)
class Posterize(PretextTask):
  """levels: bits kept, integers in [1, 8]."""
  levels: Sequence[float] = (8, 3, 2, 1)

  def check_levels(self, levels):
    if any(v != int(v) or not 1 <= v <= 8 for v in levels):
      raise ValueError(f"Posterize levels are bits, integers in [1, 8], got {levels}.")

  def transform(self, image, magnitude):
    return posterize(image, magnitude)
