"""What a dataset is: its static facts and an in-memory split (shared by every source)."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
  """Static facts about a dataset.

  Attributes:
    name: registry name, e.g. "mnist5k".
    num_classes: number of labels.
    input_shape: one image as (height, width, channels).
    mean, std: per-channel statistics of pixels in [0, 1], used by the model's
      normalization layer (inputs always stay in [0, 1]).
  """
  name: str
  num_classes: int
  input_shape: tuple[int, int, int]
  mean: tuple[float, ...]
  std: tuple[float, ...]


class Dataset(NamedTuple):
  """An in-memory split: images uint8 [n, h, w, c], labels int32 [n]."""
  images: np.ndarray
  labels: np.ndarray
  info: DatasetInfo
