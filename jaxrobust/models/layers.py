"""Layers shared by all models: input checks and normalization inside the model."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import _checks
from jaxrobust.models.heads import check_head


def check_normalization(mean: Sequence[float], std: Sequence[float]) -> None:
  """mean and std: one finite value per channel each, std > 0."""
  for name, values in (("mean", mean), ("std", std)):
    if np.ndim(values) != 1 or len(values) < 1:
      raise ValueError(f"{name} must be a sequence of per-channel values, got {values!r}.")
  if len(mean) != len(std):
    raise ValueError(f"mean and std must have one value per channel each, got "
                     f"{len(mean)} and {len(std)} values (mean={tuple(mean)!r}, "
                     f"std={tuple(std)!r}).")
  for i, (mu, sigma) in enumerate(zip(mean, std)):
    _checks.check_real(f"mean[{i}]", mu)
    _checks.check_real(f"std[{i}]", sigma, low=0, low_open=True)


def check_model_fields(num_classes: int, mean: Sequence[float], std: Sequence[float]) -> None:
  """The dataset fields every model has (registry.make can call this too)."""
  _checks.check_int_at_least("num_classes", num_classes, 2)
  check_normalization(mean, std)


# Structural fields a model may declare, checked by name when it is built (so a new
# model's `hidden` or `n_fft` is checked by default): integer -> its smallest value; a
# sequence under one of these names (or WIDTHS) is a list of widths / sizes, each >= 1.
AT_LEAST = {"hidden": 1, "kernel_size": 1, "width": 1, "stem_features": 1, "depth": 1,
            "width_multiplier": 1, "sample_rate": 1, "n_fft": 2, "hop_length": 1,
            "n_mels": 1, "n_mfcc": 1, "frame": 1, "filters": 1}
WIDTHS = ("features", "hidden", "channels", "depths", "strides")
RATES = ("dropout",)  # probabilities in [0, 1]


def check_structure(module: nn.Module) -> None:
  """The fields of AT_LEAST, WIDTHS and RATES that `module` has, its `head` and its
  `activation`: a ValueError naming Class.field, the value and the valid range."""
  cls = type(module).__name__
  for name in sorted(set(AT_LEAST) | set(WIDTHS) | set(RATES)):
    if not hasattr(module, name):
      continue
    value, where = getattr(module, name), f"{cls}.{name}"
    if name in RATES:
      _checks.check_real(where, value, low=0, high=1)
    elif isinstance(value, Sequence) and not isinstance(value, str):
      _checks.check_widths(where, value)  # also a kernel size (3, 3)
    else:
      _checks.check_int(where, value, AT_LEAST.get(name, 1))
  if hasattr(module, "head"):
    check_head(module.head)
  if hasattr(module, "activation"):
    check_activation(module.activation)


class Classifier(nn.Module):
  """Base of the models: the dataset fields and the structure (`check_structure`),
  checked when the model is built."""
  num_classes: int
  mean: Sequence[float]
  std: Sequence[float]

  def __post_init__(self):
    check_model_fields(self.num_classes, self.mean, self.std)
    check_structure(self)
    super().__post_init__()


class Normalize(nn.Module):
  """(x - mean) / std per channel, after checking x is a float image batch.

  Normalization lives in the model so that attacks and measures always work
  in pixel space [0, 1] (DESIGN.md: never an attack option).

  Attributes:
    mean, std: per-channel statistics, length = channels.
  """
  mean: Sequence[float]
  std: Sequence[float]

  def __post_init__(self):
    check_normalization(self.mean, self.std)
    super().__post_init__()

  @nn.compact
  def __call__(self, x):
    check_images(x, channels=len(self.mean))
    mean = jnp.asarray(self.mean, x.dtype)
    std = jnp.asarray(self.std, x.dtype)
    return (x - mean) / std


def standardize_per_image(x: jax.Array) -> jax.Array:
  """[batch, h, w, c] -> each image minus its mean, over max(its std, 1 / sqrt(h w c)).

  The std is the unbiased one (n - 1), as `torch.Tensor.std`; the floor keeps a
  constant image finite. This is RobustBench's Ding2020MMA input transform (Ding et
  al., "MMA Training", ICLR 2020), which follows TensorFlow's
  `per_image_standardization` except for the unbiased std.
  """
  size = x.shape[1] * x.shape[2] * x.shape[3]
  mean = jnp.mean(x, axis=(1, 2, 3), keepdims=True)
  std = jnp.std(x, axis=(1, 2, 3), keepdims=True, ddof=1)
  return (x - mean) / jnp.maximum(std, 1.0 / np.sqrt(size))


def check_images(x, channels: int) -> None:
  """Raises a clear error unless x is float [batch, h, w, channels]."""
  if not jnp.issubdtype(x.dtype, jnp.floating):
    raise TypeError(
        f"Model inputs must be floating point in [0, 1], got dtype {x.dtype}; "
        "convert uint8 images with jaxrobust.data.to_float.")
  if x.ndim != 4 or x.shape[-1] != channels:
    raise ValueError(
        f"Model inputs must have shape [batch, height, width, {channels}], "
        f"got {tuple(x.shape)}.")


BATCH_NORM_EPSILON = 1e-5


def batch_norm(train: bool) -> nn.BatchNorm:
  """BatchNorm with PyTorch's defaults (momentum 0.1 -> flax 0.9, eps 1e-5)."""
  return nn.BatchNorm(use_running_average=not train, momentum=0.9,
                      epsilon=BATCH_NORM_EPSILON)


def batch_norm_affine(stats: dict, params: dict) -> tuple[jax.Array, jax.Array]:
  """Eval-mode `batch_norm` as v * scale + shift, per channel [channels] each."""
  scale = params["scale"] / jnp.sqrt(stats["var"] + BATCH_NORM_EPSILON)
  return scale, params["bias"] - stats["mean"] * scale


# Activation name -> function. "gelu" is the exact erf form, torch.nn.GELU's default
# (flax's nn.gelu defaults to the tanh approximation); "swish" is SiLU, x * sigmoid(x).
ACTIVATIONS = {"relu": nn.relu, "swish": nn.swish, "silu": nn.swish,
               "gelu": lambda x: nn.gelu(x, approximate=False)}


def check_activation(name: str) -> None:
  """A ValueError naming the valid activations unless `name` is one."""
  if name not in ACTIVATIONS:
    raise ValueError(f"Unknown activation {name!r}; valid choices: {tuple(ACTIVATIONS)}.")
