"""The networks of domain adaptation: a feature extractor with a classifier head, and a
domain discriminator.

The net is a `Classifier` like the models of `jaxrobust.models` (normalization
inside, inputs in [0, 1]), so `net.apply(variables, x)` is a `logits_fn`;
`embed` exposes the features f that the adaptation objectives align.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax

from jaxrobust import _checks
from jaxrobust.models.layers import Classifier, Normalize


class AdaptationNet(Classifier):
  """[conv 3x3 stride 2, ReLU] * len(conv_features) -> dense ReLU (the features f) -> logits.

  Input [batch, h, w, c] in [0, 1]; `embed` -> features [batch, feature_dim];
  `__call__` -> logits [batch, num_classes]. Strided convolutions instead of
  pooling (DESIGN.md: XLA pooling is slow on CPU).
  """
  conv_features: Sequence[int] = (32, 64)
  feature_dim: int = 128

  def __post_init__(self):
    _checks.check_widths("conv_features", self.conv_features)
    _checks.check_int("feature_dim", self.feature_dim, 1)
    super().__post_init__()

  def setup(self):
    self.normalize = Normalize(self.mean, self.std)
    self.convs = [nn.Conv(w, (3, 3), strides=2, padding="SAME") for w in self.conv_features]
    self.bottleneck = nn.Dense(self.feature_dim)
    self.head = nn.Dense(self.num_classes)

  def embed(self, x: jax.Array) -> jax.Array:
    x = self.normalize(x)
    for conv in self.convs:
      x = nn.relu(conv(x))
    return nn.relu(self.bottleneck(x.reshape(x.shape[0], -1)))

  def classify(self, features: jax.Array) -> jax.Array:
    return self.head(features)

  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    del train  # no BatchNorm or dropout: one mode
    return self.classify(self.embed(x))


class Discriminator(nn.Module):
  """MLP [dense ReLU] * len(hidden) -> one logit per example: inputs [batch, dim] -> [batch]
  (source = 1, target = 0). Ganin et al. (2016) use layers of 100 units for digits."""
  hidden: Sequence[int] = (100, 100)

  def __post_init__(self):
    _checks.check_widths("hidden", self.hidden)
    super().__post_init__()

  @nn.compact
  def __call__(self, h: jax.Array) -> jax.Array:
    for width in self.hidden:
      h = nn.relu(nn.Dense(width)(h))
    return nn.Dense(1)(h)[:, 0]
