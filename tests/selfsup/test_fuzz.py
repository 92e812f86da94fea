"""Bad input at every public entry of jaxrobust.selfsup: a clear error naming the argument.

CASES keys are "selfsup.<entry>:<what is bad>"; each value is (call, error type, words the
message must contain). Nothing here trains: every call fails at its boundary checks.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import _checks, selfsup
from jaxrobust.data.info import DatasetInfo
from jaxrobust.selfsup import pretext
from jaxrobust.selfsup.pretext import PRETEXT_TASKS
from tests.bad_input import assert_clear_error

NAN = float("nan")
KEY = jax.random.key(0)
IMAGES = jax.random.uniform(KEY, (2, 4, 4, 3))
IMAGE = IMAGES[0]
LABELS = jnp.array([0, 1])
TASKS = PRETEXT_TASKS.make_all(["rotation", "solarize"])
GRAM = jnp.array([[2.0, 0.5, 0.1], [0.5, 1.0, 0.2], [0.1, 0.2, 3.0]])
INFO = DatasetInfo("toy", 2, (4, 4, 1), (0.5,), (0.25,))
ENCODER = {"name": "small_cnn", "features": (4,), "hidden": 8}
FEATS = np.random.default_rng(0).normal(size=(6, 3))
CLASSES = np.array([0, 1, 0, 1, 0, 1])


def _fit(images=None, **kwargs):
  args = {"tasks": ["rotation"], "encoder": ENCODER, "feature_dim": 4, "weighting": "uniform",
          "workdir": "/nonexistent", "epochs": 1, "batch_size": 2, **kwargs}
  x = np.zeros((4, 4, 4, 1), np.uint8) if images is None else images
  return lambda: selfsup.fit_pretext(x, INFO, **args)


def _task_cases():
  """label out of range, label -1 and 0..255 images for every registered task."""
  cases = {}
  for name in PRETEXT_TASKS.names():
    task = PRETEXT_TASKS.make(name)
    k = task.num_classes
    cls = type(task).__name__  # the key names the class: selfsup.pretext.Rotation.apply
    cases[f"selfsup.pretext.{cls}.apply:label_{k + 3}_of_{k}"] = (
        lambda task=task, k=k: task.apply(IMAGES, jnp.array([0, k + 3])), ValueError,
        ["labels", f"[0, {k})"])
    cases[f"selfsup.pretext.{cls}.apply:label_negative"] = (
        lambda task=task: task.apply(IMAGES, jnp.array([0, -1])), ValueError,
        ["labels", "[-1, 0]"])
    cases[f"selfsup.pretext.{cls}.apply:images_255"] = (
        lambda task=task: task.apply(IMAGES * 255.0, LABELS), ValueError,
        ["images", "[0.0, 1.0]", "255"])
  return cases


CASES = {
    **_task_cases(),
    # tasks and views
    "selfsup.pretext.PretextTask.apply:float_labels": (
        lambda: PRETEXT_TASKS.make("rotation").apply(IMAGES, jnp.array([0.0, 1.0])), TypeError,
        ["labels", "integer"]),
    "selfsup.pretext.PretextTask.apply:ragged_labels": (
        lambda: PRETEXT_TASKS.make("rotation").apply(IMAGES, jnp.array([0, 1, 2])), ValueError,
        ["labels", "[batch] = [2]", "(3,)"]),
    "selfsup.pretext.PretextTask.apply:uint8_images": (
        lambda: PRETEXT_TASKS.make("solarize").apply((IMAGES * 255).astype(jnp.uint8), LABELS),
        TypeError, ["images", "floating point", "uint8"]),
    "selfsup.pretext.PretextTask.sample:n_negative": (
        lambda: PRETEXT_TASKS.make("rotation").sample(KEY, -1),
                                          ValueError, ["n", ">= 0", "-1"]),
    "selfsup.pretext.Rotation:levels": (lambda: pretext.Rotation(levels=(0, 5)), ValueError,
                                        ["Rotation levels", "(0, 1, 2, 3)"]),
    "selfsup.pretext.Posterize:levels": (lambda: pretext.Posterize(levels=(8, 0)), ValueError,
                                         ["Posterize levels", "[1, 8]"]),
    "selfsup.pretext.Solarize:levels": (lambda: pretext.Solarize(levels=(2.0, -1.0)),
                                        ValueError, ["Solarize thresholds", ">= 0"]),
    "selfsup.pretext.Brightness:levels": (lambda: pretext.Brightness(levels=(1.0, -0.5)),
                                          ValueError, ["Brightness factors", ">= 0"]),
    "selfsup.pretext.Contrast:one_level": (lambda: pretext.Contrast(levels=(1.0,)), ValueError,
                                           ["levels", "at least two distinct"]),
    "selfsup.pretext.Color:nan_level": (lambda: pretext.Color(levels=(1.0, NAN)), ValueError,
                                        ["levels[1]", "finite"]),
    "selfsup.pretext.Sharpness:repeated_levels": (
        lambda: pretext.Sharpness(levels=(1.0, 1.0)), ValueError, ["distinct"]),
    "selfsup.pretext.PRETEXT_TASKS.make:unknown_name": (
        lambda: PRETEXT_TASKS.make("jigsaw"), ValueError,
                                          ["jigsaw", "rotation"]),
    "selfsup.pretext.PRETEXT_TASKS.make:unknown_option": (
        lambda: PRETEXT_TASKS.make("rotation", level=(0, 1)), ValueError, ["level"]),
    "selfsup.PRETEXT_TASKS.make_all:empty": (
        lambda: selfsup.PRETEXT_TASKS.make_all([]), ValueError, ["spec", "pretext task",
                                                                 "non-empty"]),
    "selfsup.PRETEXT_TASKS.make_all:string": (
        lambda: selfsup.PRETEXT_TASKS.make_all("rotation"), ValueError,
        ["spec", "pretext task", "'rotation'"]),
    "selfsup.PRETEXT_TASKS.make_all:repeated": (
        lambda: selfsup.PRETEXT_TASKS.make_all(["rotation", "rotation"]), ValueError,
        ["once", "rotation"]),
    "selfsup.make_views:images_255": (lambda: selfsup.make_views(TASKS, IMAGES * 255.0, KEY),
                                      ValueError, ["images", "[0.0, 1.0]", "255"]),
    "selfsup.make_views:names_not_tasks": (lambda: selfsup.make_views(["rotation"], IMAGES, KEY),
                                           TypeError, ["tasks", "{name: PretextTask}"]),
    "selfsup.make_views:three_dim": (lambda: selfsup.make_views(TASKS, IMAGE, KEY), ValueError,
                                     ["images", "[batch, height, width, channels]"]),
    # the transforms on one image
    "selfsup.pretext.rotate90:images_255": (lambda: pretext.rotate90(IMAGE * 255.0, 1),
                                            ValueError, ["image", "[0.0, 1.0]"]),
    "selfsup.pretext.rotate90:batch": (lambda: pretext.rotate90(IMAGES, 1), ValueError,
                                       ["image", "[height, width, channels]"]),
    "selfsup.pretext.solarize:threshold_negative": (lambda: pretext.solarize(IMAGE, -0.5),
                                                    ValueError, ["threshold", ">= 0"]),
    "selfsup.pretext.solarize:images_255": (lambda: pretext.solarize(IMAGE * 255.0, 0.5),
                                            ValueError, ["image", "255"]),
    "selfsup.pretext.posterize:bits_nine": (lambda: pretext.posterize(IMAGE, 9), ValueError,
                                            ["bits", "<= 8", "9"]),
    "selfsup.pretext.posterize:bits_zero": (lambda: pretext.posterize(IMAGE, 0), ValueError,
                                            ["bits", ">= 1"]),
    "selfsup.pretext.brighten:factor_negative": (lambda: pretext.brighten(IMAGE, -1.0),
                                                 ValueError, ["factor", ">= 0", "-1.0"]),
    "selfsup.pretext.brighten:images_255": (lambda: pretext.brighten(IMAGE * 255.0, 1.0),
                                            ValueError, ["image", "[0.0, 1.0]"]),
    "selfsup.pretext.saturate:factor_nan": (lambda: pretext.saturate(IMAGE, NAN), ValueError,
                                            ["factor", "finite"]),
    "selfsup.pretext.contrast:images_255": (lambda: pretext.contrast(IMAGE * 255.0, 1.0),
                                            ValueError, ["image", "[0.0, 1.0]"]),
    "selfsup.pretext.sharpen:factor_negative": (lambda: pretext.sharpen(IMAGE, -2.0),
                                                ValueError, ["factor", ">= 0"]),
    "selfsup.pretext.contrast:batch": (lambda: pretext.contrast(IMAGES, 1.0), ValueError,
                                       ["image", "[height, width, channels]"]),
    "selfsup.pretext.smooth:batch": (lambda: pretext.smooth(IMAGES), ValueError,
                                     ["image", "[height, width, channels]"]),
    "selfsup.pretext.blend:images_255": (lambda: pretext.blend(IMAGE, IMAGE * 255.0, 0.5),
                                         ValueError, ["image", "[0.0, 1.0]"]),
    "selfsup.pretext.grayscale:two_channels": (lambda: pretext.grayscale(IMAGE[..., :2]),
                                               ValueError, ["1 or 3 channels", "2"]),
    "selfsup.pretext.grayscale:uint8": (lambda: pretext.grayscale(IMAGE.astype(jnp.uint8)),
                                        TypeError, ["image", "uint8"]),
    # the min-norm solver
    "selfsup.min_norm_weights:nan_gram": (
        lambda: selfsup.min_norm_weights(GRAM.at[0, 1].set(NAN)), ValueError,
        ["gram", "finite"]),
    "selfsup.min_norm_weights:not_symmetric": (
        lambda: selfsup.min_norm_weights(GRAM.at[0, 1].set(3.0)), ValueError,
        ["gram", "symmetric", "2.5"]),
    "selfsup.min_norm_weights:not_square": (lambda: selfsup.min_norm_weights(GRAM[:2]),
                                            ValueError, ["gram", "square", "(2, 3)"]),
    "selfsup.min_norm_weights:iterations_zero": (
        lambda: selfsup.min_norm_weights(GRAM, iterations=0), ValueError,
        ["iterations", ">= 1"]),
    "selfsup.min_norm_weights:tolerance_negative": (
        lambda: selfsup.min_norm_weights(GRAM, tolerance=-1e-7), ValueError,
        ["tolerance", ">= 0.0"]),
    "selfsup.min_norm_from_gradients:nan": (
        lambda: selfsup.min_norm_from_gradients(jnp.array([[1.0, NAN], [0.0, 1.0]])),
        ValueError, ["grads", "finite"]),
    "selfsup.min_norm_from_gradients:one_dim": (
        lambda: selfsup.min_norm_from_gradients(jnp.ones(3)), ValueError,
        ["gradients", "[K, D]", "(3,)"]),
    "selfsup.min_norm_from_gradients:no_tasks": (
        lambda: selfsup.min_norm_from_gradients(jnp.ones((0, 3))), ValueError,
        ["K >= 1", "(0, 3)"]),
    "selfsup.line_search:negative_norm": (lambda: selfsup.line_search(-1.0, 0.0, 1.0),
                                          ValueError, ["aa", ">= 0", "-1.0"]),
    "selfsup.line_search:nan": (lambda: selfsup.line_search(1.0, NAN, 1.0), ValueError,
                                ["ab", "finite"]),
    # combining, the network, training, encoding, the probe
    "selfsup.combine:alpha_length": (
        lambda: selfsup.combine({"encoder": {"w": jnp.ones((2, 3))}}, jnp.ones(3) / 3),
        ValueError, ["alpha", "[K]", "(3,)"]),
    "selfsup.combine:alpha_negative": (
        lambda: selfsup.combine({"encoder": {"w": jnp.ones((2, 3))}}, jnp.array([1.5, -0.5])),
        ValueError, ["alpha", "-0.5"]),
    "selfsup.combine:no_encoder": (lambda: selfsup.combine({"w": jnp.ones((2, 3))}, jnp.ones(2)),
                                   ValueError, ["grads", "'encoder'"]),
    "selfsup.MultiTaskNet:one_class_task": (
        lambda: selfsup.MultiTaskNet(None, (4, 1)), ValueError, ["num_classes[1]", ">= 2"]),
    "selfsup.MultiTaskNet:num_classes_int": (lambda: selfsup.MultiTaskNet(None, 4), TypeError,
                                             ["num_classes", "sequence"]),
    "selfsup.build_encoder:no_name": (lambda: selfsup.build_encoder({"features": (4,)}, 4, INFO),
                                      ValueError, ["name", "small_cnn"]),
    "selfsup.build_encoder:feature_dim_zero": (lambda: selfsup.build_encoder(ENCODER, 0, INFO),
                                               ValueError, ["feature_dim", ">= 1", "0"]),
    "selfsup.fit_pretext:learning_rate_negative": (_fit(learning_rate=-1e-3), ValueError,
                                                   ["learning_rate", "> 0.0", "-0.001"]),
    "selfsup.fit_pretext:weight_decay_negative": (_fit(weight_decay=-1e-4), ValueError,
                                                  ["weight_decay", ">= 0.0", "-0.0001"]),
    "selfsup.fit_pretext:batch_size_zero": (_fit(batch_size=0), ValueError,
                                            ["batch_size", ">= 1", "0"]),
    "selfsup.fit_pretext:min_norm_iterations_zero": (_fit(min_norm_iterations=0), ValueError,
                                                     ["min_norm_iterations", ">= 1"]),
    "selfsup.fit_pretext:images_float_255": (_fit(np.full((4, 4, 4, 1), 255.0)), ValueError,
                                             ["images", "[0.0, 1.0]", "255"]),
    "selfsup.fit_pretext:images_int32": (_fit(np.zeros((4, 4, 4, 1), np.int32)), TypeError,
                                         ["images", "uint8", "int32"]),
    "selfsup.fit_pretext:unknown_weighting": (_fit(weighting="pcgrad"), ValueError,
                                              ["weighting", "pcgrad", "min_norm"]),
    "selfsup.fit_pretext:epochs_negative": (_fit(epochs=-1), ValueError, ["epochs", ">= 0"]),
    "selfsup.fit_pretext:seed_float": (_fit(seed=0.5), ValueError, ["seed", "0.5"]),
    "selfsup.encode:batch_size_zero": (
        lambda: selfsup.encode(None, np.zeros((2, 4, 4, 1), np.uint8), batch_size=0),
        ValueError, ["batch_size", ">= 1"]),
    "selfsup.encode:images_255": (lambda: selfsup.encode(None, np.full((2, 4, 4, 1), 255.0)),
                                  ValueError, ["images", "[0.0, 1.0]"]),
    "selfsup.linear_probe:nan_features": (
        lambda: selfsup.linear_probe(np.where(FEATS > 1, np.nan, FEATS), CLASSES, FEATS,
                                     CLASSES), ValueError, ["train_features", "finite"]),
    "selfsup.linear_probe:c_zero": (
        lambda: selfsup.linear_probe(FEATS, CLASSES, FEATS, CLASSES, c=0.0), ValueError,
        ["c (inverse regularization strength)", "> 0.0"]),
    "selfsup.linear_probe:max_iter_zero": (
        lambda: selfsup.linear_probe(FEATS, CLASSES, FEATS, CLASSES, max_iter=0), ValueError,
        ["max_iter", ">= 1"]),
    "selfsup.linear_probe:float_labels": (
        lambda: selfsup.linear_probe(FEATS, CLASSES * 0.5, FEATS, CLASSES), TypeError,
        ["train_labels", "integer"]),
    "selfsup.linear_probe:one_class": (
        lambda: selfsup.linear_probe(FEATS, CLASSES * 0, FEATS, CLASSES), ValueError,
        ["train_labels", "at least 2 classes"]),
    "selfsup.linear_probe:widths_differ": (
        lambda: selfsup.linear_probe(FEATS, CLASSES, FEATS[:, :2], CLASSES), ValueError,
        ["one width", "3", "2"]),
    "selfsup.linear_probe:ragged": (
        lambda: selfsup.linear_probe(FEATS, CLASSES[:4], FEATS, CLASSES), ValueError,
        ["train features", "(6, 3)", "(4,)"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_clearly(case):
  call, error, words = CASES[case]
  assert_clear_error(call, error, words)


def test_valid_tasks_and_gram_still_work_and_jit_is_unchecked():
  """The last label of a task applies; a symmetric Gram matrix passes; under jit the label
  check is static only (no cost, no error for traced labels)."""
  for name in ("solarize", "brightness"):  # a threshold and a blend: the cheapest two
    task = PRETEXT_TASKS.make(name)
    out = task.apply(IMAGES, jnp.array([0, task.num_classes - 1]))
    assert out.shape == IMAGES.shape and float(out.min()) >= 0 and float(out.max()) <= 1
  task = PRETEXT_TASKS.make("solarize")
  labels = jnp.array([0, task.num_classes - 1])
  np.testing.assert_allclose(jax.jit(task.apply)(IMAGES, labels), task.apply(IMAGES, labels),
                             atol=1e-6)
  # A symmetric Gram matrix with float32 round-off passes (the solver: test_min_norm.py).
  _checks.check_gram("gram", GRAM + 1e-7 * jnp.triu(GRAM, 1))
