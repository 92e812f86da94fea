"""Pre-activation ResNet-18 and Wide ResNet, the standard robust-training backbones.

References:
  He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016.
  Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from jaxrobust.models.heads import apply_head
from jaxrobust.models.layers import Classifier, Normalize, batch_norm


class PreActBlock(nn.Module):
  """BN-ReLU-conv3x3-BN-ReLU-conv3x3 with an identity (or 1x1 conv) shortcut."""
  features: int
  stride: int = 1
  dropout: float = 0.0

  @nn.compact
  def __call__(self, x, train: bool):
    out = nn.relu(batch_norm(train)(x))
    # The projection shortcut sees the pre-activated input, as in He et al.
    shortcut = x
    if self.stride != 1 or x.shape[-1] != self.features:
      shortcut = nn.Conv(self.features, (1, 1), self.stride, use_bias=False)(out)
    out = nn.Conv(self.features, (3, 3), self.stride, padding=1, use_bias=False)(out)
    out = nn.relu(batch_norm(train)(out))
    if self.dropout:
      out = nn.Dropout(self.dropout, deterministic=not train)(out)
    out = nn.Conv(self.features, (3, 3), 1, padding=1, use_bias=False)(out)
    return out + shortcut


class _ResidualNet(Classifier):
  """Stem conv, stages of PreActBlocks, BN-ReLU, global average pool, dense."""

  def stages(self) -> Sequence[tuple[int, int, int]]:
    """(features, blocks, first stride) per stage."""
    raise NotImplementedError

  stem_features: int = 64
  dropout: float = 0.0
  head: str = "identity"  # output map from jaxrobust.models.heads

  @nn.compact
  def __call__(self, x, train: bool = False):
    x = Normalize(self.mean, self.std)(x)
    x = nn.Conv(self.stem_features, (3, 3), 1, padding=1, use_bias=False)(x)
    for features, blocks, stride in self.stages():
      for b in range(blocks):
        x = PreActBlock(features, stride if b == 0 else 1, self.dropout)(x, train)
    x = nn.relu(batch_norm(train)(x))
    x = jnp.mean(x, axis=(1, 2))
    return apply_head(self.head, nn.Dense(self.num_classes)(x))


class PreActResNet18(_ResidualNet):
  """Pre-activation ResNet-18: [batch, h, w, c] -> [batch, num_classes]."""
  width: int = 64

  def stages(self):
    w = self.width
    return ((w, 2, 1), (2 * w, 2, 2), (4 * w, 2, 2), (8 * w, 2, 2))


class WideResNet(_ResidualNet):
  """WRN-depth-width: three stages of (depth - 4) / 6 blocks of 16k, 32k, 64k channels."""
  depth: int = 28
  width: int = 10
  stem_features: int = 16

  def stages(self):
    if (self.depth - 4) % 6:
      raise ValueError(f"WideResNet depth must be 6n + 4 (e.g. 16, 28, 34, 70), "
                       f"got {self.depth}.")
    n = (self.depth - 4) // 6
    k = self.width
    return ((16 * k, n, 1), (32 * k, n, 2), (64 * k, n, 2))
