"""ABC's loss equals its likelihood form, is stable at both ends, and trains the right way;
Deep SAD's loss; the detectors' bad-input errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import anomaly


def test_log1mexp_matches_float64_reference_over_the_range():
  # Up to 80: exp(-a) stays a normal float32 (beyond ~87 it underflows to 0, the true
  # value of log(1 - exp(-a)) in float32 anyway).
  a = np.logspace(-12, np.log10(80.0), 200).astype(np.float32)
  a64 = a.astype(np.float64)
  # float64 at the same inputs; log1p(-exp(-a)) where -expm1(-a) rounds to 1.
  want = np.where(a64 < 1, np.log(-np.expm1(-a64)), np.log1p(-np.exp(-a64)))
  got = np.asarray(anomaly.log1mexp(jnp.asarray(a)), np.float64)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=0)


def test_abc_loss_is_the_negative_log_likelihood_with_p_normal_exp_minus_a():
  a = jnp.array([0.05, 0.3, 1.0, 2.5, 7.0, 0.05, 0.3, 1.0, 2.5, 7.0])
  y = jnp.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
  p_normal = np.exp(-np.asarray(a, np.float64))
  p_y = np.where(np.asarray(y) == 0, p_normal, 1 - p_normal)
  np.testing.assert_allclose(anomaly.abc_loss(a, y), -np.log(p_y), rtol=1e-5)
  np.testing.assert_allclose(anomaly.normal_probability(a), p_normal, rtol=1e-6)


@pytest.mark.parametrize("a", [1e-8, 1e-3, 0.69, 0.7, 30.0, 80.0])
def test_abc_loss_and_gradient_are_finite_at_both_ends(a):
  for y in (0, 1):
    loss, grad = jax.value_and_grad(
        lambda a: anomaly.abc_loss(a[None], jnp.array([y]))[0])(jnp.float32(a))
    assert np.isfinite(loss) and np.isfinite(grad), (a, y, loss, grad)
  # The anomaly term: -log(1 - e^-a) ~ -log a for small a, ~ e^-a for large a.
  loss = float(anomaly.abc_loss(jnp.array([a], jnp.float32), jnp.array([1]))[0])
  want = -np.log(-np.expm1(-a)) if a < 1 else -np.log1p(-np.exp(-a))
  assert loss == pytest.approx(want, rel=1e-5, abs=0)


def test_abc_gradient_reconstructs_normals_and_not_anomalies():
  """x_hat = s x: A = (1 - s)^2 ||x||^2. Gradient descent on s moves s toward 1 (perfect
  reconstruction) for a normal point and away from it for a known anomaly."""
  x = jnp.linspace(0.1, 0.9, 16).reshape(1, 4, 4, 1)

  def loss(s, y):
    a = anomaly.reconstruction_error(x, s * x)
    return anomaly.abc_loss(a, jnp.array([y]))[0]

  s = 0.8
  assert jax.grad(loss)(s, 0) < 0  # a step -lr * grad raises s toward 1
  assert jax.grad(loss)(s, 1) > 0  # ... and lowers it for the anomaly
  # The anomaly's push fades as A grows (the saturation that makes the scale matter).
  far = 0.0
  assert abs(jax.grad(loss)(far, 1)) < abs(jax.grad(loss)(s, 1))


def test_reconstruction_error_sum_is_dimension_times_mean():
  x = jax.random.uniform(jax.random.key(0), (3, 5, 5, 1))
  x_hat = jax.random.uniform(jax.random.key(1), (3, 5, 5, 1))
  total = anomaly.reconstruction_error(x, x_hat, "sum")
  np.testing.assert_allclose(total, ((x - x_hat) ** 2).sum((1, 2, 3)), rtol=1e-6)
  np.testing.assert_allclose(anomaly.reconstruction_error(x, x_hat, "mean"), total / 25,
                             rtol=1e-6)


def test_deep_sad_loss_pulls_unlabeled_and_pushes_labeled_anomalies():
  d = jnp.array([0.5, 2.0, 0.5, 2.0])
  y = jnp.array([0, 0, 1, 1])
  np.testing.assert_allclose(anomaly.deep_sad_loss(d, y, eta=3.0),
                             [0.5, 2.0, 3.0 / (0.5 + 1e-6), 3.0 / (2.0 + 1e-6)], rtol=1e-6)
  grads = jax.grad(lambda d: anomaly.deep_sad_loss(d, y, eta=3.0).sum())(d)
  assert (grads[:2] > 0).all() and (grads[2:] < 0).all()


def test_bad_input_is_named():
  with pytest.raises(ValueError, match="Unknown reduction 'max'.*'sum', 'mean'"):
    anomaly.DETECTORS.make("abc", reduction="max")
  with pytest.raises(ValueError, match="Unknown anomaly detector 'svdd'.*'abc'"):
    anomaly.DETECTORS.make("svdd")
  with pytest.raises(ValueError, match=r"Unknown option\(s\) \['eta'\] for anomaly detector"):
    anomaly.DETECTORS.make("abc", eta=1.0)
  with pytest.raises(ValueError, match="eta"):
    anomaly.DETECTORS.make("deep_sad", eta=-1.0)
  with pytest.raises(ValueError, match="differ in shape"):
    anomaly.abc_loss(jnp.ones(3), jnp.ones(2, jnp.int32))
  with pytest.raises(ValueError, match="must be disjoint"):
    anomaly.make_split(normal=(0, 1), known=(1,), unknown=(9,), num_known=5, seed=0)
  with pytest.raises(ValueError, match=r"num_known must be an integer in \[1, 400\]"):
    anomaly.make_split(normal=(0,), known=(1,), unknown=(9,), num_known=401, seed=0)
  with pytest.raises(ValueError, match=r"class indices in \[0, 10\)"):
    anomaly.make_split(normal=(0,), known=(12,), unknown=(9,), num_known=5, seed=0)
  with pytest.raises(ValueError, match="labels must be 0"):
    anomaly.fit_detector(anomaly.DETECTORS.make("abc"), np.zeros((4, 2, 2, 1), np.uint8),
                         np.array([0, 1, 2, 0]), None, workdir="/nonexistent", epochs=1,
                         batch_size=2)
