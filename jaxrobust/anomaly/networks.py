"""The networks of the anomaly detectors: an MLP autoencoder and a bias-free MLP encoder.

The supervised baseline reuses `jaxrobust.models.MLP` with two classes.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from jaxrobust import _checks


class Autoencoder(nn.Module):
  """x [batch, h, w, c] in [0, 1] -> reconstruction [batch, h, w, c] in (0, 1).

  Dense ReLU layers of `hidden` widths down to a linear code of `latent`
  units, the mirror image up, and a sigmoid output (pixels live in [0, 1]).
  """
  hidden: Sequence[int] = (256,)
  latent: int = 32

  def __post_init__(self):
    _checks.check_widths("hidden", self.hidden)
    _checks.check_int("latent", self.latent, 1)
    super().__post_init__()

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train
    shape = x.shape
    h = x.reshape(shape[0], -1)
    for width in self.hidden:
      h = nn.relu(nn.Dense(width)(h))
    h = nn.Dense(self.latent)(h)
    for width in reversed(tuple(self.hidden)):
      h = nn.relu(nn.Dense(width)(h))
    h = nn.Dense(int(np.prod(shape[1:])))(h)
    return nn.sigmoid(h).reshape(shape)


class BiasFreeEncoder(nn.Module):
  """x [batch, ...] -> features [batch, features], with no bias terms anywhere.

  Deep SVDD / Deep SAD need bias-free layers: with a bias the network can map
  every input to the centre c (a constant output) and collapse the hypersphere
  (Ruff et al. 2018, Prop. 2). Leaky ReLU as in the authors' MNIST network.
  """
  hidden: Sequence[int] = (256,)
  features: int = 32

  def __post_init__(self):
    _checks.check_widths("hidden", self.hidden)
    _checks.check_int("features", self.features, 1)
    super().__post_init__()

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train
    h = x.reshape(x.shape[0], -1)
    for width in self.hidden:
      h = nn.leaky_relu(nn.Dense(width, use_bias=False)(h), 0.01)
    return nn.Dense(self.features, use_bias=False)(h)


def squared_distance(z, center):
  """||z - c||^2 per row [batch]."""
  return jnp.sum(jnp.square(z - center), axis=-1)
