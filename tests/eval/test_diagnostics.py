"""The masking diagnostics fire on a deliberately masked model and stay quiet on a normal one."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import attacks, data, train
from jaxrobust.attacks.square import Square
from jaxrobust.eval import diagnostics as diag
from jaxrobust.eval.evaluation import evaluate_models

EPS = 0.1


@pytest.fixture(scope="module")
def model_and_data(tiny_runs):
  run = train.load_trained(tiny_runs[0])
  test = data.load("mnist5k", "test")
  return run, test.images[:200], test.labels[:200]


def _rounding(apply_fn):
  """The model behind an 8-bit input quantiser: same predictions, zero input gradient."""
  return lambda variables, x, **kw: apply_fn(variables, jnp.round(x * 255) / 255, **kw)


def _evaluate(apply_fn, run, images, labels):
  return evaluate_models(
      apply_fn, [run.variables], images, labels, num_classes=10,
      attacks={"pgd10": attacks.PGD(eps=EPS, step_size=EPS / 4, steps=10),
               "square": Square(eps=EPS, n_queries=300)},
      blackbox=("square",), curve_eps=(0.0, 0.05, 0.1, 0.2), curve_steps=10,
      diagnostics_examples=200, huge_eps_steps=20, key=jax.random.key(0),
      batch_size=100)[0]


def test_quiet_on_a_normal_model(model_and_data):
  run, images, labels = model_and_data
  report = _evaluate(functools.partial(run.model.apply, train=False), run, images, labels)
  stats = report["diagnostics"]["stats"]
  assert stats["zero_gradients"] == 0.0
  assert stats["random_predictions"] == 0.0
  assert stats["huge_eps_accuracy"] <= 0.01
  assert stats["accuracy_rise"] <= 0.005
  assert report["diagnostics"]["warnings"] == [], report["diagnostics"]


def test_fires_on_a_model_that_rounds_its_input(model_and_data):
  run, images, labels = model_and_data
  report = _evaluate(_rounding(functools.partial(run.model.apply, train=False)), run,
                     images, labels)
  stats, warnings = report["diagnostics"]["stats"], report["diagnostics"]["warnings"]
  assert stats["zero_gradients"] == 1.0
  # Starting at x with no gradient, huge-eps PGD never moves: the clean accuracy.
  assert stats["huge_eps_accuracy"] == pytest.approx(report["clean_accuracy"], abs=0.02)
  # PGD without gradients is a random search in the ball; Square is not fooled.
  assert report["robust_accuracy"]["square"] < report["robust_accuracy"]["pgd10"] - 0.1
  assert stats["blackbox_gain"] > 0.1
  text = " ".join(warnings)
  for phrase in ("zero or non-finite input gradients", "black-box attacks broke",
                 "radius covering the whole input box"):
    assert phrase in text, warnings


def test_randomness_and_monotonicity_statistics():
  x = jnp.linspace(0, 1, 32).reshape(8, 4)
  noisy = lambda z, k: z + jax.random.normal(k, z.shape)
  assert diag.prediction_randomness(noisy, x, jax.random.key(0), draws=8) > 0.5
  assert diag.prediction_randomness(lambda z, k: z, x, jax.random.key(0)) == 0.0
  assert float(diag.largest_accuracy_rise(jnp.array([0.9, 0.5, 0.6, 0.1]))) == pytest.approx(0.1)
  assert float(diag.largest_accuracy_rise(jnp.array([0.9, 0.5, 0.5]))) <= 0.0
  warnings = diag.masking_warnings({"random_predictions": 0.25, "accuracy_rise": 0.1})
  assert len(warnings) == 2 and "EOT" in warnings[0] and "non-increasing" in warnings[1]


def test_statistics_work_under_jit(model_and_data):
  run, images, labels = model_and_data
  logits_fn = lambda z: run.model.apply(run.variables, z, train=False)
  x = data.to_float(images[:50])
  y = jnp.asarray(labels[:50])
  fraction = jax.jit(lambda x, y: diag.zero_gradient_fraction(logits_fn, x, y))(x, y)
  assert float(fraction) == 0.0
  huge = jax.jit(lambda x, y: diag.huge_eps_accuracy(
      logits_fn, x, y, key=jax.random.key(0), steps=10))(x, y)
  assert 0.0 <= float(huge) <= 0.02


def test_bad_arguments():
  with pytest.raises(ValueError, match="draws"):
    diag.prediction_randomness(lambda z, k: z, jnp.zeros((2, 3)), jax.random.key(0), draws=1)
  with pytest.raises(ValueError, match="norm"):
    diag.huge_eps("l3", (28, 28, 1))
  assert diag.huge_eps("l2", (4, 4, 1)) == pytest.approx(4.0)
  assert np.isclose(diag.huge_eps("l1", (4, 4, 1)), 16.0)
