"""Bad input to train's public entries: a clear error each."""

import ml_collections

from jaxrobust import train
from tests.bad_input import fuzz_test

NAN = float("nan")


def _optimizer(**fields):
  config = {"name": "sgd", "learning_rate": 0.1, "schedule": "constant", **fields}
  return lambda: train.make_optimizer(ml_collections.ConfigDict(config), 10)


CASES = {
    "train.make_optimizer:learning_rate_nan": (
        _optimizer(learning_rate=NAN), ValueError, ["learning_rate", "finite", "nan"]),
}

test_bad_input_raises_a_clear_error = fuzz_test(CASES)
