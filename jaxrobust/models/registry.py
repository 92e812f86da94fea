"""Models by name, and the bridge from (model, variables) to a `logits_fn`."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import flax.linen as nn
import jax

from jaxrobust.models.cnn import SmallCNN
from jaxrobust.models.heads import check_head
from jaxrobust.models.resnet import PreActResNet18, WideResNet
from jaxrobust.models.simple import MLP, Linear

MODELS: dict[str, type[nn.Module]] = {
    "linear": Linear,
    "mlp": MLP,
    "small_cnn": SmallCNN,
    "preact_resnet18": PreActResNet18,
    "wide_resnet": WideResNet,
}

# Fields filled from the dataset, never from model options.
_DATASET_FIELDS = ("num_classes", "mean", "std")


def create(name: str, *, num_classes: int, mean, std, **options: Any) -> nn.Module:
  """Builds a model by name.

  Args:
    name: one of `MODELS`.
    num_classes: output width.
    mean, std: per-channel pixel statistics for the normalization layer.
    **options: the model's own fields (e.g. `features` for small_cnn,
      `depth`/`width` for wide_resnet; `head` for every model: the output map
      from `jaxrobust.models.heads`, e.g. "sigsoftmax").
  """
  if name not in MODELS:
    raise ValueError(f"Unknown model {name!r}; valid choices: {tuple(MODELS)}.")
  cls = MODELS[name]
  allowed = tuple(f.name for f in dataclasses.fields(cls)
                  if f.init and f.name not in _DATASET_FIELDS + ("parent", "name"))
  unknown = set(options) - set(allowed)
  if unknown:
    raise ValueError(f"Unknown option(s) {sorted(unknown)} for model {name!r}; "
                     f"valid options: {allowed}.")
  check_head(options.get("head", "identity"))  # a typo fails here, not at first use
  return cls(num_classes=num_classes, mean=tuple(mean), std=tuple(std), **options)


def as_logits_fn(model: nn.Module, variables: Any) -> Callable[[jax.Array], jax.Array]:
  """The DESIGN.md contract: inputs [batch, h, w, c] in [0, 1] -> logits [batch, classes].

  The model runs in evaluation mode (BatchNorm uses its running statistics),
  so the function is pure and deterministic.
  """
  return lambda x: model.apply(variables, x, train=False)
