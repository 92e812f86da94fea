"""One entry point, `load(name, split)`, for embedded and TFDS datasets."""

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


EMBEDDED = ("mnist5k", "digits")
SPLITS = ("train", "test")


def dataset_names() -> tuple[str, ...]:
  """All names `load` accepts: embedded (offline) first, then TFDS."""
  from jaxrobust.data import tfds_source
  return EMBEDDED + tuple(tfds_source.TFDS_DATASETS)


def load(name: str, split: str, data_dir: str | None = None) -> Dataset:
  """Loads a whole split into memory.

  Args:
    name: "mnist5k" or "digits" (embedded, offline), or a TFDS name
      ("mnist", "fashion_mnist", "cifar10", "cifar100", "svhn_cropped",
      "stl10") prepared in `data_dir` (never downloaded).
    split: "train" or "test" (TFDS names accept any TFDS split string).
    data_dir: TFDS data directory; ignored for embedded datasets.

  Returns:
    `Dataset` with images uint8 [n, h, w, c] and labels int32 [n].
  """
  if name in EMBEDDED:
    from jaxrobust.data import embedded
    if split not in SPLITS:
      raise ValueError(
          f"Unknown split {split!r} for {name!r}; valid splits: {SPLITS}.")
    return Dataset(*embedded.load_embedded(name, split))
  from jaxrobust.data import tfds_source
  if name in tfds_source.TFDS_DATASETS:
    info = tfds_source.TFDS_DATASETS[name]
    images, labels = tfds_source.load_tfds(name, split, data_dir)
  else:
    raise ValueError(
        f"Unknown dataset {name!r}; valid choices: {dataset_names()}.")
  return Dataset(images=images, labels=labels, info=info)
