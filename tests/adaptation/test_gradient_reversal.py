"""The gradient reversal layer (identity forward, -lambda times the gradient backward) and
DANN's schedule."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust.adaptation import dann_coefficient, reverse_gradient


def test_forward_is_the_identity_and_backward_flips_and_scales():
  x = jnp.array([[0.5, -1.0, 2.0], [3.0, 0.0, -0.25]])
  w = jnp.array([1.0, -2.0, 0.5])
  np.testing.assert_array_equal(reverse_gradient(x, 0.7), x)
  plain = jax.grad(lambda x: jnp.sum(jnp.tanh(x * w)))(x)
  for coeff in (0.0, 0.3, 1.0, 2.5):
    reversed_ = jax.grad(lambda x: jnp.sum(jnp.tanh(reverse_gradient(x, coeff) * w)))(x)
    np.testing.assert_allclose(reversed_, -coeff * plain, rtol=1e-6)
  # The layer only touches what flows through it: parameters after it (the
  # discriminator's) get their ordinary gradient.
  gw = jax.grad(lambda w: jnp.sum(jnp.tanh(reverse_gradient(x, 0.5) * w)))(w)
  np.testing.assert_allclose(gw, jax.grad(lambda w: jnp.sum(jnp.tanh(x * w)))(w), rtol=1e-6)


def test_reversal_under_jit_with_a_traced_coefficient_matches_eager():
  f = lambda x, c: jax.grad(lambda x: jnp.sum(reverse_gradient(x, c) ** 2))(x)
  x = jnp.arange(4.0)
  np.testing.assert_allclose(jax.jit(f)(x, jnp.float32(0.25)), -0.25 * 2 * x)
  # The coefficient is a constant of the objective: no gradient flows into it.
  assert jax.grad(lambda c: jnp.sum(reverse_gradient(x, c)))(1.0) == 0.0


def test_schedule_rises_from_zero_to_one():
  p = jnp.linspace(0.0, 1.0, 11)
  lam = dann_coefficient(p)
  assert lam[0] == 0.0 and 0.999 < lam[-1] < 1.0
  assert np.all(np.diff(np.asarray(lam)) > 0)
  np.testing.assert_allclose(dann_coefficient(0.5), 2 / (1 + np.exp(-5.0)) - 1, rtol=1e-6)
