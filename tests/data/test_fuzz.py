"""Bad input to data's public entries (augmentation: one image instead of a batch, bad
padding): a clear error each."""

import os
import tempfile

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import data
from tests.bad_input import fuzz_test

KEY = jax.random.key(0)
IMAGE = jnp.zeros((8, 8, 3))
_IMAGES = np.zeros((6, 4, 4, 1), np.uint8)


def _wav_file(content: bytes) -> str:
  """A file holding `content` (a damaged WAV), in a fresh temporary folder."""
  path = os.path.join(tempfile.mkdtemp(), "clip.wav")
  with open(path, "wb") as f:
    f.write(content)
  return path


def _write_wav(waveform, **kwargs):
  return lambda: data.write_wav(os.path.join(tempfile.mkdtemp(), "out.wav"), waveform, **kwargs)


CASES = {
    "data.load_tabular:unknown_name": (lambda: data.load_tabular("iris"), ValueError,
                                       ["tabular dataset", "'iris'", "breast_cancer"]),
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
    "data.sequential_batches:batch_zero": (
        lambda: data.sequential_batches(_IMAGES, np.zeros(6, np.int32), 0), ValueError,
        ["batch_size", ">= 1", "0"]),
    "data.sequential_batches:batch_negative": (
        lambda: data.sequential_batches(_IMAGES, np.zeros(6, np.int32), -4), ValueError,
        ["batch_size", "-4"]),
    "data.sequential_batches:lengths": (
        lambda: data.sequential_batches(_IMAGES, np.zeros(5, np.int32), 2), ValueError,
        ["images 6", "labels 5"]),
    "data.epoch_permutation:n_negative": (lambda: data.epoch_permutation(KEY, 0, -3), ValueError,
                                          ["n", ">= 0", "-3"]),
    "data.epoch_permutation:epoch_fraction": (lambda: data.epoch_permutation(KEY, 1.5, 4),
                                              ValueError, ["epoch", "integer", "1.5"]),
    "data.sliding_windows:window_zero": (lambda: data.sliding_windows(np.arange(10.0), 0),
                                         ValueError, ["window", ">= 1", "0"]),
    "data.sliding_windows:window_fraction": (lambda: data.sliding_windows(np.arange(10.0), 2.5),
                                             ValueError, ["window", "integer", "2.5"]),
    "data.sliding_windows:horizon_negative": (
        lambda: data.sliding_windows(np.arange(10.0), 3, -1), ValueError, ["horizon", "-1"]),
    "data.sliding_windows:too_short": (lambda: data.sliding_windows(np.arange(3.0), 3),
                                       ValueError, ["series", "3"]),
    "data.sliding_windows:nan": (lambda: data.sliding_windows(np.array([0.0, np.nan, 1, 2]), 2),
                                 ValueError, ["series", "finite"]),
    "data.forecasting_split:fraction_one": (lambda: data.forecasting_split("co2", 4, 1, 1.0),
                                            ValueError, ["test_fraction", "(0, 1)", "1.0"]),
    "data.forecasting_split:name_unknown": (lambda: data.forecasting_split("gdp", 4), ValueError,
                                            ["series", "'gdp'", "co2"]),
    "data.load_series:name_unknown": (lambda: data.load_series("gdp"), ValueError,
                                      ["series", "'gdp'"]),
    "data.load:name_unknown": (lambda: data.load("mnist6k", "train"), ValueError,
                               ["'mnist6k'", "mnist5k"]),
    "data.load:split_unknown": (lambda: data.load("mnist5k", "validation"), ValueError,
                                ["split", "'validation'", "train"]),
    "data.load_fsdd:split_unknown": (lambda: data.load_fsdd("val"), ValueError,
                                     ["split", "'val'", "train"]),
    "data.load_fsdd:task_unknown": (lambda: data.load_fsdd("train", "words"), ValueError,
                                    ["task", "'words'", "digits"]),
    "data.load_fsdd:num_samples_zero": (lambda: data.load_fsdd("train", num_samples=0),
                                        ValueError, ["num_samples", ">= 1", "0"]),
    "data.read_wav:not_a_wav": (lambda: data.read_wav(_wav_file(b"RIFF....garbage")), ValueError,
                                ["clip.wav"]),
    "data.read_wav:missing": (lambda: data.read_wav("/nonexistent/clip.wav"), FileNotFoundError,
                              ["/nonexistent/clip.wav"]),
    "data.write_wav:above_one": (_write_wav(np.array([0.5, 8.0])), ValueError,
                                 ["waveform", "[-1.0, 1.0]", "8.0"]),
    "data.write_wav:nan": (_write_wav(np.array([0.5, np.nan])), ValueError,
                           ["waveform", "finite"]),
    "data.write_wav:rate_zero": (_write_wav(np.zeros(4), sample_rate=0), ValueError,
                                 ["sample_rate", ">= 1", "0"]),
}

test_bad_input_raises_a_clear_error = fuzz_test(CASES)


def test_good_input_passes_the_same_checks():
  assert data.random_crop(KEY, IMAGE[None], 2).shape == (1, 8, 8, 3)
