"""Solarizing prediction: pixels at or above a threshold t are inverted (PIL.ImageOps.solarize).

A threshold above 1 is the identity, 0 the full inversion 1 - x (an
involution); other thresholds are not invertible (a bright pixel x > 1 - t
becomes 1 - x < t and cannot be told from an untouched dark one).
Reference: Yamaguchi et al., MP-SSL / IE-Rot (arXiv:1912.11603).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import jax
import jax.numpy as jnp

from jaxrobust import _checks
from jaxrobust.selfsup.pretext._base import PretextTask, check_image


def solarize(image: jax.Array, threshold: jax.Array) -> jax.Array:
  """Pixels >= threshold inverted: image [h, w, c] in [0, 1], threshold >= 0."""
  check_image("image", image, one=False)
  _checks.check_number("threshold", threshold, low=0)
  return jnp.where(image < threshold, image, 1.0 - image)


@dataclasses.dataclass(frozen=True)
class Solarize(PretextTask):
  """levels: thresholds in [0, 1], or > 1 for the identity."""
  levels: Sequence[float] = (2.0, 0.75, 0.5, 0.25)

  def check_levels(self, levels):
    if min(levels) < 0:
      raise ValueError(f"Solarize thresholds must be >= 0, got {levels}.")

  def transform(self, image, magnitude):
    return solarize(image, magnitude)
