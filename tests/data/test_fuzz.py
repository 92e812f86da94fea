"""Bad input to data's public entries (augmentation: one image instead of a batch, bad
padding): a clear error each."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import data
from tests.bad_input import fuzz_test

KEY = jax.random.key(0)
IMAGE = jnp.zeros((8, 8, 3))
_IMAGES = np.zeros((6, 4, 4, 1), np.uint8)

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
    "data.to_float:float_255": (
        lambda: data.to_float(np.full((2, 2), 200.0, np.float32)), ValueError, ["[0, 1]", "200"]),
    "data.to_float:uint16": (
        lambda: data.to_float(np.zeros((2, 2), np.uint16)), TypeError, ["uint8", "uint16"]),
    "data.to_float:nan": (
        lambda: data.to_float(np.array([np.nan], np.float32)), ValueError, ["NaN"]),
    "data.num_batches:zero": (
        lambda: data.num_batches(10, 0), ValueError, ["batch_size", ">= 1", "0"]),
    "data.num_batches:negative": (
        lambda: data.num_batches(10, -3), ValueError, ["batch_size", "-3"]),
    "data.num_batches:bool": (lambda: data.num_batches(10, True), ValueError, ["batch_size"]),
    "data.epoch_batches:too_large": (
        lambda: list(data.epoch_batches(_IMAGES, np.zeros(6, np.int32), 10, key=KEY, epoch=1)),
        ValueError, ["batch_size=10", "6 examples", "empty"]),
}

test_bad_input_raises_a_clear_error = fuzz_test(CASES)


def test_good_input_passes_the_same_checks():
  assert data.random_crop(KEY, IMAGE[None], 2).shape == (1, 8, 8, 3)
