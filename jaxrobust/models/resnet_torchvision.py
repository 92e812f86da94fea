"""ResNet-18/34/50/101/152 in torchvision's layout (ImageNet stem), for imported weights,
its wide variants (wide_resnet50_2) and the CIFAR layout (3x3 stem, no max pooling).

Module names follow torchvision's state_dict (conv1, bn1, layer1_0/conv1, ...,
layer2_0/downsample_conv, fc), so that `jaxrobust.models.convert` maps a
torchvision checkpoint one to one. Bottleneck blocks stride in their 3x3
convolution (torchvision's "ResNet v1.5").

References:
  He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from jaxrobust import _checks
from jaxrobust.models.heads import apply_head
from jaxrobust.models.layers import Classifier, Normalize

# depth -> (block kind, blocks per stage), as torchvision's resnetXX builders.
DEPTHS = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)),
          50: ("bottleneck", (3, 4, 6, 3)), 101: ("bottleneck", (3, 4, 23, 3)),
          152: ("bottleneck", (3, 8, 36, 3))}
EXPANSION = {"basic": 1, "bottleneck": 4}


def _bn(train: bool, name: str) -> nn.BatchNorm:
  """layers.batch_norm (torch's momentum and eps) under torchvision's name."""
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, name=name)


def _conv(features: int, kernel: int, stride: int, name: str) -> nn.Conv:
  """Torch's Conv2d(padding=kernel // 2, bias=False): symmetric explicit padding."""
  return nn.Conv(features, (kernel, kernel), stride, padding=kernel // 2, use_bias=False,
                 name=name)


class Block(nn.Module):
  """torchvision BasicBlock (kind "basic") or Bottleneck (kind "bottleneck")."""
  kind: str
  features: int  # the block's base width; it outputs features * EXPANSION[kind]
  stride: int = 1
  width_multiplier: int = 1  # bottleneck inner width = features * this (wide_resnet50_2: 2)

  @nn.compact
  def __call__(self, x, train: bool):
    out_features = self.features * EXPANSION[self.kind]
    if self.kind == "basic":
      y = nn.relu(_bn(train, "bn1")(_conv(self.features, 3, self.stride, "conv1")(x)))
      y = _bn(train, "bn2")(_conv(self.features, 3, 1, "conv2")(y))
    else:
      inner = self.features * self.width_multiplier
      y = nn.relu(_bn(train, "bn1")(_conv(inner, 1, 1, "conv1")(x)))
      y = nn.relu(_bn(train, "bn2")(_conv(inner, 3, self.stride, "conv2")(y)))
      y = _bn(train, "bn3")(_conv(out_features, 1, 1, "conv3")(y))
    shortcut = x
    if self.stride != 1 or x.shape[-1] != out_features:
      shortcut = _bn(train, "downsample_bn")(
          _conv(out_features, 1, self.stride, "downsample_conv")(x))
    return nn.relu(y + shortcut)


class ResNet(Classifier):
  """torchvision ResNet: [batch, h, w, c] in [0, 1] -> [batch, num_classes].

  Attributes:
    depth: 18, 34 (basic blocks), 50, 101 or 152 (bottlenecks).
    width: channels of the stem and first stage (torchvision: 64); stages
      have width, 2 width, 4 width, 8 width (times 4 for bottlenecks).
    width_multiplier: bottleneck inner width over torchvision's (wide_resnet50_2: 2).
    head: output map from jaxrobust.models.heads.
  """
  depth: int = 50
  width: int = 64
  width_multiplier: int = 1
  head: str = "identity"
  cifar_stem = False  # a class constant: CifarResNet's layout

  def __post_init__(self):
    if self.depth not in DEPTHS:
      raise ValueError(f"ResNet depth must be one of {tuple(DEPTHS)}, got {self.depth!r}.")
    _checks.check_int_at_least("width_multiplier", self.width_multiplier, 1)
    super().__post_init__()

  def stages(self) -> tuple[tuple[str, int, int, int], ...]:
    """(block kind, inner features, blocks, first stride) per stage."""
    kind, blocks = DEPTHS[self.depth]
    return tuple((kind, self.width * 2 ** s, n, 1 if s == 0 else 2)
                 for s, n in enumerate(blocks))

  @nn.compact
  def __call__(self, x, train: bool = False):
    x = Normalize(self.mean, self.std)(x)
    if self.cifar_stem:
      x = nn.relu(_bn(train, "bn1")(_conv(self.width, 3, 1, "conv1")(x)))
    else:
      x = nn.relu(_bn(train, "bn1")(_conv(self.width, 7, 2, "conv1")(x)))
      # Torch pads max pooling with -inf, as Flax does.
      x = nn.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
    for s, (kind, features, blocks, stride) in enumerate(self.stages()):
      for b in range(blocks):
        x = Block(kind, features, stride if b == 0 else 1, self.width_multiplier,
                  name=f"layer{s + 1}_{b}")(x, train)
    x = jnp.mean(x, axis=(1, 2))
    return apply_head(self.head, nn.Dense(self.num_classes, name="fc")(x))


class CifarResNet(ResNet):
  """The CIFAR ResNet (kuangliu's layout, RobustBench's ResNet18/50): a 3x3 stride-1 stem
  without max pooling, then torchvision's blocks; its torch names are conv1, bn1,
  layer{s}.{b}.*, layer{s}.{b}.shortcut.{0,1} and linear."""
  cifar_stem = True
