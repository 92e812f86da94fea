"""Optimizers and schedules from configs."""

import ml_collections
import numpy as np
import optax
import pytest

from jaxrobust import train


def test_schedules_hit_their_defining_values():
  cosine = train.make_schedule("cosine", 0.1, 100)
  assert float(cosine(0)) == pytest.approx(0.1) and float(cosine(100)) == pytest.approx(0.0)
  assert float(cosine(50)) == pytest.approx(0.05, rel=1e-5)
  piecewise = train.make_schedule("piecewise", 0.1, 100)
  values = [float(piecewise(s)) for s in (0, 49, 51, 76)]
  np.testing.assert_allclose(values, [0.1, 0.1, 0.01, 0.001], rtol=1e-5)
  warm = train.make_schedule("constant", 0.1, 100, warmup_steps=10)
  np.testing.assert_allclose([float(warm(s)) for s in (0, 5, 10, 90)], [0, 0.05, 0.1, 0.1],
                             rtol=1e-5)


def _config(**kw):
  base = dict(name="sgd", learning_rate=0.1, schedule="constant", weight_decay=0.0)
  return ml_collections.ConfigDict({**base, **kw})


def test_sgd_with_weight_decay_matches_the_torch_update_rule():
  tx = train.make_optimizer(_config(momentum=0.0, weight_decay=0.5), total_steps=10)
  params = {"w": np.array([2.0], np.float32)}
  updates, _ = tx.update({"w": np.array([1.0], np.float32)}, tx.init(params), params)
  # torch.optim.SGD: w -= lr * (g + wd * w) = 2 - 0.1 * (1 + 1) = 1.8
  np.testing.assert_allclose(optax.apply_updates(params, updates)["w"], [1.8], rtol=1e-6)


def test_unknown_names_and_bad_values_raise():
  with pytest.raises(ValueError, match="valid choices.*sgd"):
    train.make_optimizer(_config(name="lion"), 10)
  with pytest.raises(ValueError, match="valid choices.*cosine"):
    train.make_optimizer(_config(schedule="linear"), 10)
  with pytest.raises(ValueError, match="learning_rate"):
    train.make_optimizer(_config(learning_rate=0.0), 10)
  with pytest.raises(ValueError, match="weight_decay"):
    train.make_optimizer(_config(weight_decay=-1.0), 10)
