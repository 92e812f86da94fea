"""Models by name, and the bridge from (model, variables) to a `logits_fn`."""

from __future__ import annotations

from typing import Any, Callable

import flax.linen as nn
import jax

from jaxrobust.models.cnn import SmallCNN
from jaxrobust.models.heads import check_head
from jaxrobust.models.randomized import RandomizedCNN
from jaxrobust.models.resnet import (DMPreActResNet, DMWideResNet, PreActResNet18,
                                     RobustWideResNet, WideResNet)
from jaxrobust.models.resnet_torchvision import CifarResNet, ResNet
from jaxrobust.models.simple import MLP, Linear
from jaxrobust.models.speech import MFCCCNN, MFCCGRU, LogMelCNN, WaveCNN
from jaxrobust.registry import Registry

# Options filled from the dataset, never from a config's model section.
MODELS = Registry("model", exclude=("num_classes", "mean", "std"))
MODELS.register("linear", Linear)
MODELS.register("mlp", MLP)
MODELS.register("small_cnn", SmallCNN)
MODELS.register("preact_resnet18", PreActResNet18)
MODELS.register("wide_resnet", WideResNet)
MODELS.register("resnet", ResNet)  # torchvision layout, for imported weights
MODELS.register("cifar_resnet", CifarResNet)  # kuangliu's CIFAR layout
MODELS.register("dm_wide_resnet", DMWideResNet)  # DeepMind's (RobustBench zoo)
MODELS.register("dm_preact_resnet", DMPreActResNet)
MODELS.register("robust_wide_resnet", RobustWideResNet)
MODELS.register("speech_wave_cnn", WaveCNN)
MODELS.register("speech_logmel_cnn", LogMelCNN)
MODELS.register("speech_mfcc_cnn", MFCCCNN)
MODELS.register("speech_mfcc_gru", MFCCGRU)
MODELS.register("randomized_cnn", RandomizedCNN)


def make(name: str, *, num_classes: int, mean, std, **options: Any) -> nn.Module:
  """Builds a model by name.

  Args:
    name: one of `MODELS`.
    num_classes: output width.
    mean, std: per-channel pixel statistics for the normalization layer.
    **options: the model's own fields (e.g. `features` for small_cnn,
      `depth`/`width` for wide_resnet; `head` for every model: the output map
      from `jaxrobust.models.heads`, e.g. "sigsoftmax").
  """
  MODELS.entry(name)  # an unknown name fails before its options are read
  check_head(options.get("head", "identity"))  # a typo fails here, not at first use
  return MODELS.make(name, num_classes=num_classes, mean=tuple(mean), std=tuple(std),
                     **options)


def as_logits_fn(model: nn.Module, variables: Any) -> Callable[[jax.Array], jax.Array]:
  """The DESIGN.md contract: inputs [batch, h, w, c] in [0, 1] -> logits [batch, classes].

  The model runs in evaluation mode (BatchNorm uses its running statistics),
  so the function is pure and deterministic.
  """
  return lambda x: model.apply(variables, x, train=False)
