"""Pre-activation ResNet-18 and Wide ResNet, the standard robust-training backbones,
with the variants of RobustBench's model zoo (DeepMind's Swish nets, RobustWideResNet).

References:
  He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016.
  Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016.
  Gowal et al., "Uncovering the Limits of Adversarial Training against Norm-Bounded
    Adversarial Examples", 2020 (DMWideResNet); Rebuffi et al., "Fixing Data Augmentation
    to Improve Adversarial Robustness", 2021 (DMPreActResNet).
  Huang et al., "Exploring Architectural Ingredients of Adversarially Robust Deep Neural
    Networks", NeurIPS 2021 (RobustWideResNet).
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from jaxrobust.models.heads import apply_head
from jaxrobust.models.layers import (ACTIVATIONS, Classifier, Normalize, batch_norm,
                                     standardize_per_image)


class PreActBlock(nn.Module):
  """BN-act-conv3x3-BN-act-conv3x3 with an identity (or projection) shortcut.

  Attributes:
    shortcut_input: the projection sees the raw block input (RobustBench's
      PreActBlock, DeepMind's PreActResNet) instead of the pre-activated one
      (He et al., PreActBlockV2, the WideResNets).
    shortcut_kernel: 1, or 3 (DeepMind's PreActResNet).
    dm_padding: DeepMind's (TensorFlow "SAME") padding: a stride-2 3x3 conv pads
      one row/column at the bottom/right only, instead of one on every side.
  """
  features: int
  stride: int = 1
  dropout: float = 0.0
  activation: str = "relu"
  shortcut_input: bool = False
  shortcut_kernel: int = 1
  dm_padding: bool = False

  def _padding(self, kernel: int, stride: int):
    if kernel == 1:
      return 0
    if self.dm_padding and stride == 2:
      return ((0, 1), (0, 1))
    return 1

  @nn.compact
  def __call__(self, x, train: bool):
    act = ACTIVATIONS[self.activation]
    out = act(batch_norm(train)(x))
    shortcut = x
    if self.stride != 1 or x.shape[-1] != self.features:
      k = self.shortcut_kernel
      shortcut = nn.Conv(self.features, (k, k), self.stride, padding=self._padding(k, self.stride),
                         use_bias=False)(x if self.shortcut_input else out)
    out = nn.Conv(self.features, (3, 3), self.stride, padding=self._padding(3, self.stride),
                  use_bias=False)(out)
    out = act(batch_norm(train)(out))
    if self.dropout:
      out = nn.Dropout(self.dropout, deterministic=not train)(out)
    out = nn.Conv(self.features, (3, 3), 1, padding=1, use_bias=False)(out)
    return out + shortcut


class _ResidualNet(Classifier):
  """Stem conv, stages of PreActBlocks, BN-ReLU, global average pool, dense."""

  def stages(self) -> Sequence[tuple[int, int, int]]:
    """(features, blocks, first stride) per stage."""
    raise NotImplementedError

  def block_options(self) -> dict:
    """The PreActBlock fields a variant fixes (shortcut and padding conventions)."""
    return {}

  stem_features: int = 64
  dropout: float = 0.0
  head: str = "identity"  # output map from jaxrobust.models.heads
  activation: str = "relu"  # one of layers.ACTIVATIONS
  final_bn: bool = True  # BN-act before the pooling (RobustBench's PreActResNet: optional)
  # Each image standardized by its own mean and std before `Normalize` (Ding et al. 2020's
  # MMA models in RobustBench): see layers.standardize_per_image.
  per_image_standardization: bool = False

  def __post_init__(self):
    super().__post_init__()
    self.stages()  # its checks (a WRN depth of 6n + 4, a depth per stage) at construction

  @nn.compact
  def __call__(self, x, train: bool = False):
    if self.per_image_standardization:
      x = standardize_per_image(x)
    x = Normalize(self.mean, self.std)(x)
    x = nn.Conv(self.stem_features, (3, 3), 1, padding=1, use_bias=False)(x)
    for features, blocks, stride in self.stages():
      for b in range(blocks):
        x = PreActBlock(features, stride if b == 0 else 1, self.dropout, self.activation,
                        **self.block_options())(x, train)
    if self.final_bn:
      x = ACTIVATIONS[self.activation](batch_norm(train)(x))
    x = jnp.mean(x, axis=(1, 2))
    return apply_head(self.head, nn.Dense(self.num_classes)(x))


def _resnet18_stages(w: int):
  return ((w, 2, 1), (2 * w, 2, 2), (4 * w, 2, 2), (8 * w, 2, 2))


class PreActResNet18(_ResidualNet):
  """Pre-activation ResNet-18: [batch, h, w, c] -> [batch, num_classes].

  shortcut_input=True, final_bn=False is RobustBench's default PreActResNet18
  (PreActBlock); the defaults are its PreActBlockV2 with bn_before_fc=True.
  """
  width: int = 64
  shortcut_input: bool = False

  def block_options(self):
    return {"shortcut_input": self.shortcut_input}

  def stages(self):
    return _resnet18_stages(self.width)


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


class DMWideResNet(WideResNet):
  """DeepMind's WideResNet (RobustBench's DMWideResNet): Swish, TF "SAME" padding."""
  activation: str = "swish"

  def block_options(self):
    return {"dm_padding": True}


class DMPreActResNet(_ResidualNet):
  """DeepMind's PreActResNet-18 (RobustBench's DMPreActResNet): Swish, TF "SAME" padding,
  3x3 projection shortcuts on the raw block input."""
  width: int = 64
  activation: str = "swish"

  def stages(self):
    return _resnet18_stages(self.width)

  def block_options(self):
    return {"dm_padding": True, "shortcut_input": True, "shortcut_kernel": 3}


class RobustWideResNet(_ResidualNet):
  """WideResNet with per-stage widths and depths (Huang et al. 2021's WRN-34-R)."""
  stem_features: int = 16
  channels: Sequence[int] = (320, 640, 512)
  depths: Sequence[int] = (5, 5, 5)

  def stages(self):
    if len(self.channels) != len(self.depths) or not self.channels:
      raise ValueError(f"RobustWideResNet needs one depth per stage: channels="
                       f"{tuple(self.channels)!r}, depths={tuple(self.depths)!r}.")
    return tuple((c, d, 1 if i == 0 else 2)
                 for i, (c, d) in enumerate(zip(self.channels, self.depths)))
