"""Data augmentation as pure functions of an explicit key (jit/vmap friendly)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrobust import _checks

_IMAGES = ("batch", "height", "width", "channels")


def random_crop(key: jax.Array, images: jax.Array, padding: int) -> jax.Array:
  """Pads each image by `padding` zeros per side and crops back at a random offset.

  Args:
    key: PRNG key.
    images: [b, h, w, c].
    padding: pixels per side (static); 0 returns the images unchanged.

  Returns:
    [b, h, w, c], each image shifted independently.
  """
  _checks.check_int_at_least("padding", padding, 0)
  _checks.check_ndim("images (a single image: images[None])", images, _IMAGES)
  if padding == 0:
    return images
  b, h, w, c = images.shape
  padded = jnp.pad(images, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
  offsets = jax.random.randint(key, (b, 2), 0, 2 * padding + 1)

  def crop(image, offset):
    return jax.lax.dynamic_slice(image, (offset[0], offset[1], 0), (h, w, c))

  return jax.vmap(crop)(padded, offsets)


def random_flip(key: jax.Array, images: jax.Array) -> jax.Array:
  """Flips each image [b, h, w, c] left-right with probability 1/2."""
  _checks.check_ndim("images (a single image: images[None])", images, _IMAGES)
  flip = jax.random.bernoulli(key, 0.5, (images.shape[0], 1, 1, 1))
  return jnp.where(flip, images[:, :, ::-1, :], images)


def augment(key: jax.Array, images: jax.Array, *, crop_padding: int = 0,
            flip: bool = False) -> jax.Array:
  """Random crop (if crop_padding > 0) then random horizontal flip (if flip)."""
  crop_key, flip_key = jax.random.split(key)
  images = random_crop(crop_key, images, crop_padding)
  return random_flip(flip_key, images) if flip else images
