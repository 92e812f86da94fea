"""A shared encoder with one linear classification head per pretext task."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import flax.linen as nn

from jaxrobust import _checks, models
from jaxrobust.data.info import DatasetInfo


class MultiTaskNet(nn.Module):
  """x [batch, h, w, c] in [0, 1] -> (features [batch, d], (logits [batch, classes_t], ...)).

  encoder: any module mapping images to [batch, d] (e.g. a `jaxrobust.models`
  classifier built with num_classes = d: its output layer is the
  representation). Its parameters are the shared ones ("encoder"); head t's
  are "heads_t". `features` and `classify` are the two halves (MGDA-UB
  differentiates the task losses with respect to the features).
  """
  encoder: nn.Module
  num_classes: Sequence[int]

  def __post_init__(self):
    if isinstance(self.num_classes, (str, bytes)) or not isinstance(self.num_classes, Sequence) \
        or not self.num_classes:
      raise TypeError(f"num_classes must be a non-empty sequence, one class count per task, "
                      f"got {self.num_classes!r}.")
    for i, c in enumerate(self.num_classes):
      _checks.check_int(f"num_classes[{i}]", c, 2)
    super().__post_init__()

  def setup(self):
    self.heads = [nn.Dense(c) for c in self.num_classes]

  def features(self, x, train: bool = False):
    return self.encoder(x, train=train)

  def classify(self, z):
    return tuple(head(z) for head in self.heads)

  def __call__(self, x, train: bool = False):
    z = self.features(x, train)
    return z, self.classify(z)


def build_encoder(section: Mapping[str, Any], feature_dim: int, info: DatasetInfo) -> nn.Module:
  """A `jaxrobust.models` network by config section {"name": ..., **options} whose
  output layer has `feature_dim` units (the representation)."""
  _checks.check_int("feature_dim", feature_dim, 1)
  section = dict(section)
  if "name" not in section:
    raise ValueError(f"the encoder section names no model: add name=..., one of "
                     f"{models.MODELS.names()}.")
  name = section.pop("name")
  return models.make(name, num_classes=feature_dim, mean=info.mean, std=info.std,
                       **{k: tuple(v) if isinstance(v, list) else v for k, v in section.items()})
