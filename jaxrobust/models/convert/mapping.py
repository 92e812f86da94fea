"""How a PyTorch module's state_dict lines up with a Flax model's variables.

A mapping is a list of `Layer`s, one per torch module with weights: its
state_dict prefix, the path of the matching Flax module and its kind. The kind
says which tensors the layer has and how each one is laid out in both
frameworks (conv kernels OIHW <-> HWIO, dense weights [out, in] <-> [in, out],
BatchNorm running statistics in the `batch_stats` collection).

The built-in architectures register their mapping function with
`register_mapping`; a user's own architecture does the same (or passes
`mapping=` to `import_state_dict` directly):

    def my_mapping(model, input_shape):
      return TorchMapping([Layer("features.0", ("Conv_0",), "conv"),
                           Layer("features.1", ("BatchNorm_0",), "batchnorm"),
                           Layer("classifier", ("Dense_0",), "dense")])
    register_mapping(MyNet, my_mapping)
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class Layer:
  """One torch module with weights and the Flax module that holds them.

  Attributes:
    torch: state_dict prefix of the module, e.g. "layer1.0.conv1".
    flax: path of the Flax module in `variables["params"]`, e.g.
      ("PreActBlock_0", "Conv_1").
    kind: "conv", "dense", "batchnorm" or "layernorm" (see `KINDS`).
    flatten_chw: for a dense layer right after a flatten, the (channels,
      height, width) it flattens: torch flattens NCHW, Flax NHWC, so the
      weight's input rows are permuted.
  """
  torch: str
  flax: tuple[str, ...]
  kind: str
  flatten_chw: tuple[int, int, int] | None = None

  def __post_init__(self):
    if self.kind not in KINDS:
      raise ValueError(f"Unknown layer kind {self.kind!r} for {self.torch!r}; "
                       f"valid kinds: {tuple(KINDS)}.")


@dataclasses.dataclass(frozen=True)
class TorchMapping:
  """A model's layers, and the state_dict entries to leave unused.

  Attributes:
    layers: every torch module with weights, in any order.
    ignore: fnmatch patterns of keys the torch model holds but never uses in
      its forward pass (e.g. TRADES' unused `sub_block1.*` in WideResNet).
  """
  layers: Sequence[Layer]
  ignore: Sequence[str] = ()


@dataclasses.dataclass(frozen=True)
class Tensor:
  """One tensor of a layer kind: its torch suffix, Flax collection and leaf,
  and the layout change between the two (`to_flax` inverts `to_torch`)."""
  torch: str
  collection: str
  leaf: str
  optional: bool = False  # present in torch iff the Flax module has it (biases)
  layout: str = "same"  # "conv", "dense" or "same"


# Layer kind -> its tensors. num_batches_tracked is read and dropped (Flax
# keeps no step count); it is written as 0 on export so torch loads strictly.
KINDS: dict[str, tuple[Tensor, ...]] = {
    "conv": (Tensor("weight", "params", "kernel", layout="conv"),
             Tensor("bias", "params", "bias", optional=True)),
    "dense": (Tensor("weight", "params", "kernel", layout="dense"),
              Tensor("bias", "params", "bias", optional=True)),
    "batchnorm": (Tensor("weight", "params", "scale"),
                  Tensor("bias", "params", "bias"),
                  Tensor("running_mean", "batch_stats", "mean"),
                  Tensor("running_var", "batch_stats", "var")),
    "layernorm": (Tensor("weight", "params", "scale", optional=True),
                  Tensor("bias", "params", "bias", optional=True)),
}
BN_COUNTER = "num_batches_tracked"

MappingFn = Callable[..., TorchMapping]  # (model, input_shape) -> TorchMapping
_MAPPINGS: dict[type, MappingFn] = {}


def register_mapping(model_class: type, fn: MappingFn) -> None:
  """Makes `fn(model, input_shape)` the torch mapping of `model_class` (and its
  subclasses without one of their own)."""
  _MAPPINGS[model_class] = fn


def mapping_for(model, input_shape: Sequence[int]) -> TorchMapping:
  """The registered mapping of `model` (looked up along its class's MRO)."""
  for cls in type(model).__mro__:
    if cls in _MAPPINGS:
      return _MAPPINGS[cls](model, tuple(input_shape))
  names = sorted(c.__name__ for c in _MAPPINGS)
  raise ValueError(f"No torch mapping is registered for {type(model).__name__}; "
                   f"models with one: {names}. Register yours with "
                   "jaxrobust.models.convert.register_mapping(cls, fn) or pass mapping=.")


def torch_shape(flax_shape: Sequence[int], layout: str, layer: Layer) -> tuple[int, ...]:
  """The shape torch stores a tensor of Flax shape `flax_shape` in."""
  s = tuple(flax_shape)
  if layout == "conv":  # HWIO -> OIHW
    return (s[-1], s[-2]) + s[:-2]
  if layout == "dense":
    return (s[1], s[0])
  return s


def to_flax(value: np.ndarray, layout: str, layer: Layer) -> np.ndarray:
  """A torch tensor (numpy) in Flax's layout."""
  if layout == "conv":  # OIHW -> HWIO (any number of spatial dims)
    n = value.ndim
    return value.transpose(tuple(range(2, n)) + (1, 0))
  if layout == "dense":
    if layer.flatten_chw is not None:
      c, h, w = layer.flatten_chw
      out = value.shape[0]
      return value.reshape(out, c, h, w).transpose(2, 3, 1, 0).reshape(h * w * c, out)
    return value.T
  return value


def to_torch(value: np.ndarray, layout: str, layer: Layer) -> np.ndarray:
  """A Flax array (numpy) in torch's layout: the inverse of `to_flax`."""
  if layout == "conv":  # HWIO -> OIHW
    n = value.ndim
    return value.transpose((n - 1, n - 2) + tuple(range(n - 2)))
  if layout == "dense":
    if layer.flatten_chw is not None:
      c, h, w = layer.flatten_chw
      out = value.shape[1]
      return value.reshape(h, w, c, out).transpose(3, 2, 0, 1).reshape(out, c * h * w)
    return value.T
  return value
