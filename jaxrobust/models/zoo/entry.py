"""One published model of the RobustBench zoo: its architecture in our Flax models, and
the leaderboard's figures for it."""

from __future__ import annotations

import dataclasses
import fractions
from typing import Any, Mapping

# dataset -> (classes, input (height, width, channels)).
DATASETS = {"cifar10": (10, (32, 32, 3)), "cifar100": (100, (32, 32, 3)),
            "imagenet": (1000, (224, 224, 3))}
THREAT_MODELS = {"linf": "Linf", "l2": "L2"}  # ours -> RobustBench's spelling


@dataclasses.dataclass(frozen=True)
class ZooEntry:
  """A RobustBench entry (robustbench 1.1.1's `model_zoo/<dataset>.py`).

  Attributes:
    name: RobustBench's name, e.g. "Wang2023Better_WRN-28-10".
    dataset: "cifar10", "cifar100" or "imagenet".
    threat_model: "linf" or "l2".
    model: a name of `jaxrobust.models.MODELS`, with `options` (depth, width, ...).
    mean, std: the per-channel normalization RobustBench's model applies to [0, 1] pixels.
    clean_accuracy, autoattack_accuracy: the leaderboard's figures, in percent
      (RobustBench's `model_info/<dataset>/<threat>/<name>.json`).
    eps: the leaderboard's radius, in [0, 1] pixel units.
    architecture: the leaderboard's architecture name (e.g. "WideResNet-70-16").
    input_size: the side of the input the entry is evaluated at (ImageNet: its crop).
  """
  name: str
  dataset: str
  threat_model: str
  model: str
  options: Mapping[str, Any]
  mean: tuple[float, ...]
  std: tuple[float, ...]
  clean_accuracy: float
  autoattack_accuracy: float
  eps: float
  architecture: str
  input_size: int | None = None

  @property
  def key(self) -> str:
    """The registry key: "<dataset>/<threat_model>/<name>"."""
    return f"{self.dataset}/{self.threat_model}/{self.name}"

  @property
  def num_classes(self) -> int:
    return DATASETS[self.dataset][0]

  @property
  def input_shape(self) -> tuple[int, int, int]:
    height, width, channels = DATASETS[self.dataset][1]
    if self.input_size is not None:
      height = width = self.input_size
    return height, width, channels


def radius(text: str) -> float:
  """The leaderboard's eps ("8/255", "0.031", "0.5") as a float."""
  return float(fractions.Fraction(text))
