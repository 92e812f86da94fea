"""Bad input to data's public entries (augmentation: one image instead of a batch, bad
padding): a clear error each."""

import jax
import jax.numpy as jnp

from jaxrobust import data
from tests.bad_input import fuzz_test

KEY = jax.random.key(0)
IMAGE = jnp.zeros((8, 8, 3))

CASES = {
    "data.random_crop:one_image": (
        lambda: data.random_crop(KEY, IMAGE, 2),
        ValueError, ["images", "[batch, height, width, channels]", "(8, 8, 3)", "images[None]"]),
    "data.random_flip:one_image": (
        lambda: data.random_flip(KEY, IMAGE),
        ValueError, ["images", "[batch, height, width, channels]", "(8, 8, 3)"]),
    "data.augment:one_image": (
        lambda: data.augment(KEY, IMAGE, crop_padding=0, flip=True),
        ValueError, ["images", "(8, 8, 3)"]),
    "data.random_crop:padding_negative": (
        lambda: data.random_crop(KEY, IMAGE[None], -1), ValueError, ["padding", ">= 0", "-1"]),
    "data.random_crop:padding_float": (
        lambda: data.random_crop(KEY, IMAGE[None], 1.5), ValueError, ["padding", "integer", "1.5"]),
}

test_bad_input_raises_a_clear_error = fuzz_test(CASES)


def test_good_input_passes_the_same_checks():
  assert data.random_crop(KEY, IMAGE[None], 2).shape == (1, 8, 8, 3)
