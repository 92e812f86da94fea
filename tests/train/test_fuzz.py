"""Bad input to train's public entries: a clear error each."""

import os
import tempfile

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxrobust import data, defenses, models, train
from tests.bad_input import fuzz_test

NAN = float("nan")
KEY = jax.random.key(0)
IMAGES = np.zeros((4, 2, 2, 1), np.uint8)
LABELS = np.zeros(4, np.int32)
MODEL = models.make("linear", num_classes=3, mean=(0.5,), std=(0.25,))
SGD = optax.sgd(0.1)


def apply_fn(variables, x, train=False):
  return x.reshape(x.shape[0], -1)[:, :3]


def _folder() -> str:
  return tempfile.mkdtemp()


STATE = train.init_state(MODEL, SGD, (2, 2, 1), KEY)


def _step(state, batch, key):
  return state, {"loss": jnp.zeros(())}


def _config(**fields):
  config = ml_collections.ConfigDict({"name": "sgd", "learning_rate": 0.1, "schedule": "constant"})
  config.update(fields)
  return config


def _optimizer(**fields):
  config = {"name": "sgd", "learning_rate": 0.1, "schedule": "constant", **fields}
  return lambda: train.make_optimizer(ml_collections.ConfigDict(config), 10)


CASES = {
    "train.make_optimizer:learning_rate_nan": (
        _optimizer(learning_rate=NAN), ValueError, ["learning_rate", "finite", "nan"]),
    "train.make_optimizer:weight_decay_nan": (
        _optimizer(weight_decay=NAN), ValueError, ["weight_decay", "finite", "nan"]),
    "train.make_optimizer:weight_decay_negative": (
        _optimizer(weight_decay=-0.1), ValueError, ["weight_decay", ">= 0", "-0.1"]),
    "train.make_optimizer:sam_rho_nan": (
        _optimizer(sam={"rho": NAN}), ValueError, ["optimizer.sam.rho", "finite"]),
    "train.make_optimizer:name_unknown": (_optimizer(name="adamw2"), ValueError,
                                          ["'adamw2'", "sgd"]),
    "train.make_schedule:name_unknown": (lambda: train.make_schedule("linear", 0.1, 10),
                                         ValueError, ["schedule", "'linear'"]),
    "train.make_schedule:steps_zero": (lambda: train.make_schedule("cosine", 0.1, 0), ValueError,
                                       ["total_steps", ">= 1", "0"]),
    "train.make_schedule:warmup_negative": (
        lambda: train.make_schedule("cosine", 0.1, 10, warmup_steps=-1), ValueError,
        ["warmup_steps", "-1"]),
    "train.make_schedule:lr_negative": (lambda: train.make_schedule("constant", -0.1, 10),
                                        ValueError, ["learning_rate", "-0.1"]),
    "train.make_schedule:boundaries_above_one": (
        lambda: train.make_schedule("piecewise", 0.1, 10, boundaries=(0.5, 1.5)), ValueError,
        ["boundaries", "1.5"]),
    "train.COMonitor:eps_negative": (
        lambda: train.COMonitor(apply_fn, IMAGES, LABELS, eps=-0.1, pgd_steps=2, key=KEY),
        ValueError, ["eps", "-0.1"]),
    "train.COMonitor:steps_zero": (
        lambda: train.COMonitor(apply_fn, IMAGES, LABELS, eps=0.1, pgd_steps=0, key=KEY),
        ValueError, ["steps", ">= 1", "0"]),
    "train.COMonitor:lengths": (
        lambda: train.COMonitor(apply_fn, IMAGES, LABELS[:3], eps=0.1, pgd_steps=2, key=KEY),
        ValueError, ["images 4", "labels 3"]),
    "train.RobustGapMonitor:eps_nan": (
        lambda: train.RobustGapMonitor(apply_fn, IMAGES, LABELS, IMAGES, LABELS, eps=NAN,
                                       pgd_steps=2, key=KEY), ValueError, ["eps", "finite"]),
    "train.RobustGapMonitor:norm_unknown": (
        lambda: train.RobustGapMonitor(apply_fn, IMAGES, LABELS, IMAGES, LABELS, eps=0.1,
                                       pgd_steps=2, key=KEY, norm="l3"), ValueError,
        ["norm", "'l3'"]),
    "train.Checkpointer:keep_zero": (lambda: train.Checkpointer(_folder(), {}, max_to_keep=0),
                                     ValueError, ["max_to_keep", ">= 1", "0"]),
    "train.MetricsLog:workdir_none": (lambda: train.MetricsLog(None), TypeError,
                                      ["workdir", "None"]),
    "train.build_model:name_unknown": (
        lambda: train.build_model(ml_collections.ConfigDict({"model": {"name": "vgg"}}),
                                  data.DatasetInfo("tiny", 3, (2, 2, 1), (0.5,), (0.25,))),
        ValueError, ["model", "'vgg'"]),
    "train.detect_collapse:drop_negative": (lambda: train.detect_collapse([], -0.1), ValueError,
                                            ["drop", "-0.1"]),
    "train.init_state:shape_zero": (lambda: train.init_state(MODEL, SGD, (0, 2, 1), KEY),
                                    ValueError, ["input_shape", "(0, 2, 1)"]),
    "train.loss_step:not_callable": (lambda: train.loss_step("ce", SGD), TypeError,
                                     ["loss", "callable"]),
    "train.make_train_step:crop_negative": (
        lambda: train.make_train_step(MODEL, defenses.DEFENSES.make("standard"), SGD, crop_padding=-1),
        ValueError, ["crop_padding", ">= 0", "-1"]),
    "train.fit_arrays:epochs_negative": (
        lambda: train.fit_arrays(_step, STATE, (np.zeros((4, 2)),), key=KEY, epochs=-1,
                                 batch_size=2, workdir=None, fingerprint={}), ValueError,
        ["epochs", ">= 0", "-1"]),
    "train.fit_arrays:batch_above_data": (
        lambda: train.fit_arrays(_step, STATE, (np.zeros((4, 2)),), key=KEY, epochs=1,
                                 batch_size=8, workdir=None, fingerprint={}), ValueError,
        ["batch_size", "8", "4"]),
    "train.run_epochs:epochs_negative": (
        lambda: train.run_epochs({}, None, None, workdir=_folder(), fingerprint={}, epochs=-1,
                                 steps_per_epoch=1, learning_rate=None, progress=False),
        ValueError, ["epochs", "-1"]),
    "train.load_trained:missing": (lambda: train.load_trained("/nonexistent/run"),
                                   FileNotFoundError, ["/nonexistent/run"]),
}

test_bad_input_raises_a_clear_error = fuzz_test(CASES)
