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


CASES = {
    "eval.Evaluator:length_mismatch": (
        _evaluator_case(_IMAGES, np.zeros(5, np.int32)), ValueError, ["images 6", "labels 5"]),
    "eval.Evaluator:label_high": (
        _evaluator_case(_IMAGES, np.full(6, 4, np.int32)), ValueError, ["labels", "[0, 4)"]),
    "eval.Evaluator:empty": (
        _evaluator_case(_IMAGES[:0], np.zeros(0, np.int32)), ValueError, ["no examples"]),
    "eval.Evaluator:float_labels": (
        _evaluator_case(_IMAGES, np.zeros(6, np.float32)), TypeError, ["labels", "integer"]),
}

test_bad_input_raises_a_clear_error = fuzz_test(CASES)
