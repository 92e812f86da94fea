"""Bad input to eval's public entries: lengths that disagree, labels out of range, nothing
to evaluate. A clear error each."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import eval as jeval
from jaxrobust import models
from tests.bad_input import fuzz_test

KEY = jax.random.key(0)
_IMAGES = np.zeros((6, 4, 4, 1), np.uint8)


def _evaluator_case(images, labels):
  model = models.make("linear", num_classes=4, mean=(0.5,), std=(0.25,))
  variables = model.init(KEY, jnp.zeros((1, 4, 4, 1)))
  evaluator = jeval.Evaluator(functools.partial(model.apply, train=False), {"clean": None}, 8)
  return lambda: evaluator(variables, images, labels, key=KEY)


def _apply(variables, x, train=False):
  return x.reshape(x.shape[0], -1)[:, :3]


CASES = {
    "eval.penultimate_features:batch_size_zero": (
        lambda: jeval.penultimate_features(None, {}, np.zeros((2, 8, 8, 1)), batch_size=0),
        ValueError, ["batch_size", ">= 1", "0"]),
    "eval.penultimate_features:images_255": (
        lambda: jeval.penultimate_features(None, {}, np.full((2, 8, 8, 1), 255.0)),
        ValueError, ["images", "[0.0, 1.0]", "255"]),
    "eval.feature_statistics:one_example": (
        lambda: jeval.feature_statistics(np.zeros((1, 3))), ValueError, ["features", "n >= 2"]),
    "eval.feature_statistics:nan": (
        lambda: jeval.feature_statistics(np.full((3, 2), np.nan)), ValueError,
        ["features", "finite"]),
    "eval.frechet_distance:widths_differ": (
        lambda: jeval.frechet_distance(np.zeros((3, 2)), np.zeros((3, 4))), ValueError,
        ["[n, d]", "(3, 2)", "(3, 4)"]),
    "eval.Evaluator:length_mismatch": (
        _evaluator_case(_IMAGES, np.zeros(5, np.int32)), ValueError, ["images 6", "labels 5"]),
    "eval.Evaluator:label_high": (
        _evaluator_case(_IMAGES, np.full(6, 4, np.int32)), ValueError, ["labels", "[0, 4)"]),
    "eval.Evaluator:empty": (
        _evaluator_case(_IMAGES[:0], np.zeros(0, np.int32)), ValueError, ["no examples"]),
    "eval.Evaluator:float_labels": (
        _evaluator_case(_IMAGES, np.zeros(6, np.float32)), TypeError, ["labels", "integer"]),
    "eval.per_class_accuracy:lengths": (
        lambda: jeval.per_class_accuracy(np.ones(4, bool), np.zeros(3, np.int32), 2), ValueError,
        ["correct 4", "labels 3"]),
    "eval.per_class_accuracy:label_high": (
        lambda: jeval.per_class_accuracy(np.ones(2, bool), np.array([0, 2]), 2), ValueError,
        ["labels", "[0, 2)"]),
    "eval.build_suite:name_unknown": (lambda: jeval.build_suite(["pgdd"], eps=0.1), ValueError,
                                      ["'pgdd'"]),
    "eval.build_suite:eps_negative": (lambda: jeval.build_suite(["apgd-ce"], eps=-0.1),
                                      ValueError, ["eps", "-0.1"]),
    "eval.build_suite:norm_unknown": (lambda: jeval.build_suite(["apgd-ce"], eps=0.1, norm="l3"),
                                      ValueError, ["norm", "'l3'"]),
    "eval.EnsembleEvaluator:no_attacks": (lambda: jeval.EnsembleEvaluator(_apply, {}),
                                          ValueError, ["at least one attack"]),
    "eval.EnsembleEvaluator:batch_zero": (
        lambda: jeval.EnsembleEvaluator(_apply, {"pgd": None}, batch_size=0), ValueError,
        ["batch_size", ">= 1", "0"]),
    "eval.ShardedEvaluator:batch_zero": (
        lambda: jeval.ShardedEvaluator(_apply, {"clean": None}, batch_size=0), ValueError,
        ["batch_size", ">= 1", "0"]),
    "eval.ShardedEnsembleEvaluator:batch_zero": (
        lambda: jeval.ShardedEnsembleEvaluator(_apply, {"pgd": None}, batch_size=0), ValueError,
        ["batch_size", ">= 1", "0"]),
    "eval.stack_variables:empty": (lambda: jeval.stack_variables([]), ValueError,
                                   ["at least one"]),
    "eval.stack_variables:structures": (
        lambda: jeval.stack_variables([{"w": np.ones(2)}, {"v": np.ones(2)}]), ValueError,
        ["model 1", "architecture"]),
    "eval.evaluate_models:lengths": (
        lambda: jeval.evaluate_models(_apply, [{}], _IMAGES, np.zeros(5, np.int32),
                                      num_classes=3, key=KEY), ValueError,
        ["images 6", "labels 5"]),
    "eval.evaluate_models:curve_eps_negative": (
        lambda: jeval.evaluate_models(_apply, [{}], _IMAGES, np.zeros(6, np.int32),
                                      num_classes=3, key=KEY, curve_eps=(-0.1,)), ValueError,
        ["curve_eps", "-0.1"]),
    "eval.robustness_report:lengths": (
        lambda: jeval.robustness_report(models.make("linear", num_classes=3, mean=(0.5,),
                                                    std=(0.2,)), {}, _IMAGES,
                                        np.zeros(5, np.int32), {}, key=KEY), ValueError,
        ["images 6", "labels 5"]),
}

test_bad_input_raises_a_clear_error = fuzz_test(CASES)
