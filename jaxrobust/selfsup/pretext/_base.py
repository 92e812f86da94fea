"""What a pretext task is: a pure image transform indexed by a class label."""

from __future__ import annotations

import dataclasses
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import _checks


@dataclasses.dataclass(frozen=True)
class PretextTask:
  """A task whose label l in [0, len(levels)) says which transform was applied.

  levels: the magnitudes of the transform (a factor, a threshold, a number of
  bits or of quarter turns); level 0 is the identity by convention, so "not
  transformed" is one of the classes. Frozen: a static argument under jit.
  """
  levels: Sequence[float] = ()

  def __post_init__(self):
    levels = tuple(float(v) for v in np.ravel(self.levels))
    if len(levels) < 2 or len(set(levels)) != len(levels):
      raise ValueError(f"{type(self).__name__}: levels must hold at least two distinct "
                       f"magnitudes (one class each), got {self.levels!r}.")
    for i, v in enumerate(levels):
      _checks.check_real(f"levels[{i}]", v)
    self.check_levels(levels)
    object.__setattr__(self, "levels", levels)

  def check_levels(self, levels: tuple[float, ...]) -> None:
    """Task-specific range checks (raise ValueError)."""

  @property
  def num_classes(self) -> int:
    return len(self.levels)

  def transform(self, image: jax.Array, magnitude: jax.Array) -> jax.Array:
    """One image [h, w, c] in [0, 1] at a (traced) magnitude -> [h, w, c] in [0, 1]."""
    raise NotImplementedError

  def apply(self, images: jax.Array, labels: jax.Array) -> jax.Array:
    """images [batch, h, w, c] in [0, 1], labels int [batch] -> transformed images."""
    if np.ndim(images) != 4:
      raise ValueError(f"images must be [batch, h, w, c], got shape {np.shape(images)}.")
    _checks.check_unit_images("images", images)
    # Indexing the levels would clamp label 7 of 4 to the last level and wrap -1.
    _checks.check_labels("labels", labels, self.num_classes, batch=np.shape(images)[0])
    magnitudes = jnp.asarray(self.levels, images.dtype)[labels]
    return jax.vmap(self.transform)(images, magnitudes)

  def sample(self, key: jax.Array, n: int) -> jax.Array:
    """Labels int32 [n], uniform over the classes."""
    _checks.check_int("n", n, 0)
    return jax.random.randint(key, (n,), 0, self.num_classes, dtype=jnp.int32)


@dataclasses.dataclass(frozen=True)
class Enhancement(PretextTask):
  """A PIL.ImageEnhance task: levels are enhancement factors >= 0 (1 the identity),
  applied by the subclass's `enhance(image, factor)` (a `blend` with its
  degenerate image)."""

  enhance = None  # (image [h, w, c], factor) -> image: a staticmethod of the subclass

  def check_levels(self, levels):
    if min(levels) < 0:
      raise ValueError(f"{type(self).__name__} factors must be >= 0, got {levels}.")

  def transform(self, image, magnitude):
    return self.enhance(image, magnitude)


def check_image(name: str, image, *, one: bool = True) -> None:
  """Pixels floating point in [0, 1] (the range when concrete): the transforms are PIL's
  on 8-bit images scaled to [0, 1], so 0..255 would be clipped. one: a single image
  [h, w, c] (the transforms that read the image as a whole); pointwise ones take any
  shape."""
  if one:
    _checks.check_ndim(name, image, ("height", "width", "channels"))
  _checks.check_unit_images(name, image)


def blend(degenerate: jax.Array, image: jax.Array, factor: jax.Array) -> jax.Array:
  """PIL.ImageEnhance's rule: degenerate + factor (image - degenerate), clipped to [0, 1].

  factor 1 is the identity, 0 the degenerate image, > 1 extrapolates away from it.
  """
  check_image("image", image, one=False)
  check_image("degenerate", degenerate, one=False)
  _checks.check_number("factor", factor, low=0)
  return jnp.clip(degenerate + factor * (image - degenerate), 0.0, 1.0)


def grayscale(image: jax.Array) -> jax.Array:
  """Luma [h, w, 1] of an RGB image (ITU-R 601-2, PIL's "L"); a 1-channel image is itself."""
  check_image("image", image, one=False)
  if image.shape[-1] == 1:
    return image
  if image.shape[-1] != 3:
    raise ValueError(f"images must have 1 or 3 channels, got {image.shape[-1]}.")
  return (image @ jnp.array([0.299, 0.587, 0.114], image.dtype))[..., None]
