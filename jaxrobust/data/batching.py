"""Shuffled epochs from an explicit key, and uint8 -> [0, 1] conversion."""

from __future__ import annotations

from typing import Iterator

import jax
import jax.numpy as jnp
import numpy as np


def epoch_permutation(key: jax.Array, epoch: int, n: int) -> np.ndarray:
  """The example order of `epoch`: a function of (key, epoch) only.

  Deriving each epoch's order by `fold_in` (not by carrying a key from epoch to
  epoch) lets a resumed run replay any epoch exactly.
  """
  return np.asarray(jax.random.permutation(jax.random.fold_in(key, epoch), n))


def num_batches(n: int, batch_size: int, drop_remainder: bool = True) -> int:
  return n // batch_size if drop_remainder else -(-n // batch_size)


def epoch_batches(images: np.ndarray, labels: np.ndarray, batch_size: int, *,
                  key: jax.Array, epoch: int,
                  drop_remainder: bool = True) -> Iterator[tuple[np.ndarray, np.ndarray]]:
  """Yields (images [b, h, w, c], labels [b]) of one shuffled epoch, on the host."""
  if batch_size < 1:
    raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
  if len(images) != len(labels):
    raise ValueError(
        f"images and labels differ in length: {len(images)} vs {len(labels)}.")
  order = epoch_permutation(key, epoch, len(labels))
  for i in range(num_batches(len(labels), batch_size, drop_remainder)):
    idx = order[i * batch_size:(i + 1) * batch_size]
    yield images[idx], labels[idx]


def sequential_batches(images: np.ndarray, labels: np.ndarray,
                       batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
  """Yields every example once, in order (for evaluation); the last batch may be short."""
  for i in range(0, len(labels), batch_size):
    yield images[i:i + batch_size], labels[i:i + batch_size]


def to_float(images: jax.Array) -> jax.Array:
  """uint8 [..., h, w, c] in 0..255 -> float32 in [0, 1] (the model input space)."""
  return jnp.asarray(images, jnp.float32) / 255.0
