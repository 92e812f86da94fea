"""Shuffled epochs from an explicit key, and uint8 -> [0, 1] conversion."""

from __future__ import annotations

from typing import Iterator

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import _checks


def epoch_permutation(key: jax.Array, epoch: int, n: int) -> np.ndarray:
  """The example order of `epoch`: a function of (key, epoch) only.

  Deriving each epoch's order by `fold_in` (not by carrying a key from epoch to
  epoch) lets a resumed run replay any epoch exactly.
  """
  _checks.check_int("epoch", epoch, 0)
  _checks.check_int("n", n, 0)
  return np.asarray(jax.random.permutation(jax.random.fold_in(key, epoch), n))


def num_batches(n: int, batch_size: int, drop_remainder: bool = True) -> int:
  """Batches of `batch_size` in n examples (the last short one counted unless dropped)."""
  _checks.check_int_at_least("n", n, 0)
  _checks.check_int_at_least("batch_size", batch_size, 1)
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
  if drop_remainder and batch_size > len(labels):
    raise ValueError(f"batch_size={batch_size} exceeds the {len(labels)} examples: the epoch "
                     "would be empty (drop_remainder drops the short batch).")
  order = epoch_permutation(key, epoch, len(labels))
  for i in range(num_batches(len(labels), batch_size, drop_remainder)):
    idx = order[i * batch_size:(i + 1) * batch_size]
    yield images[idx], labels[idx]


def sequential_batches(images: np.ndarray, labels: np.ndarray,
                       batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
  """Yields every example once, in order (for evaluation); the last batch may be short."""
  _checks.check_int("batch_size", batch_size, 1)
  _checks.check_same_length(images=images, labels=labels)
  return _sequential(images, labels, batch_size)


def _sequential(images, labels, batch_size):
  for i in range(0, len(labels), batch_size):
    yield images[i:i + batch_size], labels[i:i + batch_size]


def to_float(images: jax.Array) -> jax.Array:
  """Images in the model input space, float32 in [0, 1]: uint8 in 0..255 is divided
  by 255; float images must already lie in [0, 1] (checked when concrete) and are
  only cast. Other integer types raise (their scale is not known)."""
  dtype = np.asarray(images).dtype if not hasattr(images, "dtype") else images.dtype
  if dtype == np.uint8:
    return jnp.asarray(images, jnp.float32) / 255.0
  if not jnp.issubdtype(dtype, jnp.floating):
    raise TypeError(f"images must be uint8 (0..255) or floating point in [0, 1], got {dtype}.")
  arr = _checks.concrete_value(images)
  if arr is not None and arr.size:
    if np.isnan(arr).any():
      raise ValueError("float images contain NaN.")
    if arr.min() < 0 or arr.max() > 1:
      raise ValueError(f"float images must lie in [0, 1], got values in [{arr.min()}, "
                       f"{arr.max()}]; uint8 images are scaled by 1/255.")
  return jnp.asarray(images, jnp.float32)
