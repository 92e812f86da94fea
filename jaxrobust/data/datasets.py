"""One entry point, `load(name, split)`, for embedded and TFDS datasets."""

from __future__ import annotations

from jaxrobust.data import embedded, tfds_source
from jaxrobust.data.info import Dataset

EMBEDDED = ("mnist5k", "digits")
SPLITS = ("train", "test")


def dataset_names() -> tuple[str, ...]:
  """All names `load` accepts: embedded (offline) first, then TFDS."""
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
    if split not in SPLITS:
      raise ValueError(
          f"Unknown split {split!r} for {name!r}; valid splits: {SPLITS}.")
    return Dataset(*embedded.load_embedded(name, split))
  if name in tfds_source.TFDS_DATASETS:
    info = tfds_source.TFDS_DATASETS[name]
    images, labels = tfds_source.load_tfds(name, split, data_dir)
  else:
    raise ValueError(
        f"Unknown dataset {name!r}; valid choices: {dataset_names()}.")
  return Dataset(images=images, labels=labels, info=info)
