"""The torch layouts of the built-in architectures (RobustBench's naming).

  PreActResNet18   conv1, layer{1-4}.{b}.{bn1,conv1,bn2,conv2,shortcut.0}, [bn], linear
                   (RobustBench's PreActResNet: PreActBlockV2 or out_shortcut=True is
                   shortcut_input=False; its plain PreActBlock, which feeds the shortcut
                   the raw input under the same keys, is shortcut_input=True: a different
                   function that no key check can tell apart; bn_before_fc is final_bn)
  DMWideResNet     init_conv, layer.{s}.block.{b}.{batchnorm_0,conv_0,batchnorm_1,conv_1,
                   shortcut}, batchnorm, logits (DeepMind's, in RobustBench)
  DMPreActResNet   conv_2d, layer_{s}.{b}.{batchnorm_0,conv_2d_1,batchnorm_1,conv_2d_2,
                   shortcut}, batchnorm, logits
  RobustWideResNet stem_conv, blocks.{s}.layer.{b}.{bn1,conv1,bn2,conv2,convShortcut}, bn1, fc
  WideResNet       conv1, block{1-3}.layer.{b}.{bn1,conv1,bn2,conv2,convShortcut}, bn1, fc
                   (Madry/TRADES/Carmon code, RobustBench's WideResNet)
  ResNet           torchvision: conv1, bn1, layer{1-4}.{b}.{conv,bn}{1-3},
                   layer{s}.0.downsample.{0,1}, fc (RobustBench's ImageNet ResNets)
  CifarResNet      the same blocks, layer{s}.0.shortcut.{0,1} and linear (kuangliu's layout,
                   RobustBench's CIFAR ResNet18/50)
  SmallCNN         convs.{i}, norms.{i}, fc1, fc2 (the test suite's torch twin)
"""

from __future__ import annotations

import math

from jaxrobust.models.cnn import SmallCNN
from jaxrobust.models.convert.mapping import Layer, TorchMapping, register_mapping
from jaxrobust.models.resnet import (DMPreActResNet, DMWideResNet, PreActResNet18,
                                     RobustWideResNet, WideResNet)
from jaxrobust.models.resnet_torchvision import CifarResNet, ResNet

_INNER = ("bn1", "conv1", "bn2", "conv2")  # torch names inside a block (RobustBench's)


def _preact_layers(model, block, shortcut: str, final_bn: str, dense: str, stem: str = "conv1",
                   inner=_INNER):
  """Layers of a `_ResidualNet`: block(s, b) names torch block b of stage s; inner names
  its (bn1, conv1, bn2, conv2).

  Flax numbers modules in creation order: each PreActBlock creates BatchNorm_0,
  then its shortcut conv (if any) as Conv_0, then conv1 and conv2.
  """
  layers = [Layer(stem, ("Conv_0",), "conv")]
  channels, i = model.stem_features, 0
  for s, (features, blocks, stride) in enumerate(model.stages()):
    for b in range(blocks):
      t, f = block(s + 1, b), f"PreActBlock_{i}"
      has_shortcut = (stride if b == 0 else 1) != 1 or channels != features
      convs = ("Conv_1", "Conv_2") if has_shortcut else ("Conv_0", "Conv_1")
      layers += [Layer(f"{t}.{inner[0]}", (f, "BatchNorm_0"), "batchnorm"),
                 Layer(f"{t}.{inner[1]}", (f, convs[0]), "conv"),
                 Layer(f"{t}.{inner[2]}", (f, "BatchNorm_1"), "batchnorm"),
                 Layer(f"{t}.{inner[3]}", (f, convs[1]), "conv")]
      if has_shortcut:
        layers.append(Layer(f"{t}.{shortcut}", (f, "Conv_0"), "conv"))
      channels, i = features, i + 1
  if model.final_bn:
    layers.append(Layer(final_bn, ("BatchNorm_0",), "batchnorm"))
  return layers + [Layer(dense, ("Dense_0",), "dense")]


def preact_resnet_mapping(model: PreActResNet18, input_shape) -> TorchMapping:
  """RobustBench's PreActResNet18 (kuangliu's, with a final BatchNorm)."""
  return TorchMapping(_preact_layers(model, lambda s, b: f"layer{s}.{b}", "shortcut.0",
                                     "bn", "linear"))


def wide_resnet_mapping(model: WideResNet, input_shape) -> TorchMapping:
  """RobustBench's WideResNet; TRADES checkpoints carry an unused sub_block1."""
  return TorchMapping(_preact_layers(model, lambda s, b: f"block{s}.layer.{b}",
                                     "convShortcut", "bn1", "fc"),
                      ignore=("sub_block1.*",))


def dm_wide_resnet_mapping(model: DMWideResNet, input_shape) -> TorchMapping:
  """DeepMind's WideResNet, as RobustBench holds it."""
  return TorchMapping(_preact_layers(
      model, lambda s, b: f"layer.{s - 1}.block.{b}", "shortcut", "batchnorm", "logits",
      "init_conv", ("batchnorm_0", "conv_0", "batchnorm_1", "conv_1")))


def dm_preact_resnet_mapping(model: DMPreActResNet, input_shape) -> TorchMapping:
  """DeepMind's PreActResNet, as RobustBench holds it."""
  return TorchMapping(_preact_layers(
      model, lambda s, b: f"layer_{s - 1}.{b}", "shortcut", "batchnorm", "logits", "conv_2d",
      ("batchnorm_0", "conv_2d_1", "batchnorm_1", "conv_2d_2")))


def robust_wide_resnet_mapping(model: RobustWideResNet, input_shape) -> TorchMapping:
  """RobustBench's RobustWideResNet (Huang et al. 2021)."""
  return TorchMapping(_preact_layers(model, lambda s, b: f"blocks.{s - 1}.layer.{b}",
                                     "convShortcut", "bn1", "fc", "stem_conv"))


def resnet_mapping(model: ResNet, input_shape) -> TorchMapping:
  """torchvision's ResNet (the Flax modules carry torchvision's names), or with
  CifarResNet the CIFAR layout's shortcut.{0,1} and linear."""
  downsample, dense = ("shortcut", "linear") if model.cifar_stem else ("downsample", "fc")
  layers = [Layer("conv1", ("conv1",), "conv"), Layer("bn1", ("bn1",), "batchnorm")]
  channels = model.width
  for s, (kind, features, blocks, stride) in enumerate(model.stages()):
    out = features * (4 if kind == "bottleneck" else 1)
    for b in range(blocks):
      t, f = f"layer{s + 1}.{b}", f"layer{s + 1}_{b}"
      for j in range(1, 4 if kind == "bottleneck" else 3):
        layers += [Layer(f"{t}.conv{j}", (f, f"conv{j}"), "conv"),
                   Layer(f"{t}.bn{j}", (f, f"bn{j}"), "batchnorm")]
      if (stride if b == 0 else 1) != 1 or channels != out:
        layers += [Layer(f"{t}.{downsample}.0", (f, "downsample_conv"), "conv"),
                   Layer(f"{t}.{downsample}.1", (f, "downsample_bn"), "batchnorm")]
      channels = out
  return TorchMapping(layers + [Layer(dense, ("fc",), "dense")])


def small_cnn_mapping(model: SmallCNN, input_shape) -> TorchMapping:
  """tests/peers' TorchSmallCNN: the first dense layer sees an NCHW flatten."""
  h, w = input_shape[:2]
  layers = []
  for i, _ in enumerate(model.features):
    layers.append(Layer(f"convs.{i}", (f"Conv_{i}",), "conv"))
    if model.batchnorm:
      layers.append(Layer(f"norms.{i}", (f"BatchNorm_{i}",), "batchnorm"))
    h, w = math.ceil(h / 2), math.ceil(w / 2)  # stride-2 "SAME" convolutions
  chw = (model.features[-1], h, w)
  layers += [Layer("fc1", ("Dense_0",), "dense", flatten_chw=chw),
             Layer("fc2", ("Dense_1",), "dense")]
  return TorchMapping(layers)


register_mapping(PreActResNet18, preact_resnet_mapping)
register_mapping(WideResNet, wide_resnet_mapping)
register_mapping(DMWideResNet, dm_wide_resnet_mapping)
register_mapping(DMPreActResNet, dm_preact_resnet_mapping)
register_mapping(RobustWideResNet, robust_wide_resnet_mapping)
register_mapping(ResNet, resnet_mapping)  # and CifarResNet
register_mapping(SmallCNN, small_cnn_mapping)
