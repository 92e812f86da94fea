"""Output maps: sigsoftmax and the bounded logit function against their definitions, stability, and the `head` option."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import models
from jaxrobust.models.heads import apply_head, bounded_logit, log_sigsoftmax


def test_sigsoftmax_matches_its_definition():
  z = np.random.default_rng(0).normal(scale=4.0, size=(6, 10))
  numerator = np.exp(z) / (1 + np.exp(-z))  # exp(z) sigmoid(z), float64
  expected = numerator / numerator.sum(-1, keepdims=True)
  out = log_sigsoftmax(jnp.asarray(z, jnp.float32))
  np.testing.assert_allclose(np.exp(out), expected, rtol=1e-5, atol=1e-7)
  # softmax of the head's "logits" is the sigsoftmax distribution.
  np.testing.assert_allclose(jax.nn.softmax(out), expected, rtol=1e-5, atol=1e-7)


def test_sigsoftmax_is_finite_for_huge_logits_with_finite_gradients():
  z = jnp.array([[1e4, -1e4, 0.0, 5.0], [-1e4, -1e4, -1e4, -1e4]])
  out = log_sigsoftmax(z)
  assert np.all(np.isfinite(out))
  np.testing.assert_allclose(out[0, 0], 0.0, atol=1e-6)
  # All equal: uniform.
  np.testing.assert_allclose(out[1], np.log(0.25), rtol=1e-6)
  g = jax.grad(lambda z: log_sigsoftmax(z)[:, 0].sum())(z)
  assert np.all(np.isfinite(g))


def test_models_take_a_head_option_and_reject_unknown_heads():
  kw = dict(num_classes=10, mean=(0.5,), std=(0.5,), features=(4,), hidden=8)
  plain = models.make("small_cnn", **kw)
  sig = models.make("small_cnn", head="sigsoftmax", **kw)
  x = jax.random.uniform(jax.random.key(0), (3, 8, 8, 1))
  variables = plain.init(jax.random.key(1), x)
  np.testing.assert_allclose(sig.apply(variables, x),
                             apply_head("sigsoftmax", plain.apply(variables, x)), rtol=1e-6)
  for name in ("linear", "mlp"):
    assert models.make(name, num_classes=3, mean=(0.,), std=(1.,), head="sigsoftmax")
  with pytest.raises(ValueError, match="Unknown head 'sigmax'.*sigsoftmax"):
    models.make("small_cnn", head="sigmax", **kw)


def test_bounded_logit_matches_its_definition_and_bounds():
  z = np.linspace(-30.0, 30.0, 60001)
  sigmoid = lambda t: 1 / (1 + np.exp(-t))
  expected = z * sigmoid(z) - (z - 1) * sigmoid(z - 1)
  out = np.asarray(bounded_logit(jnp.asarray(z, jnp.float32)))
  np.testing.assert_allclose(out, expected, atol=2e-7)  # float32, no cancellation
  # Extremes at finite pre-logits, symmetric about z = 1/2.
  assert abs(z[np.argmax(expected)] - 2.968) < 2e-3 and abs(expected.max() - 1.0962) < 1e-4
  assert abs(z[np.argmin(expected)] + 1.968) < 2e-3 and abs(expected.min() + 0.0962) < 1e-4
  mirrored = (1 - z) * sigmoid(1 - z) - (-z) * sigmoid(-z)  # f(1 - z)
  np.testing.assert_allclose(expected + mirrored, 1.0, atol=1e-12)
  huge = bounded_logit(jnp.array([-1e4, 1e4, -3e38, 3e38]))
  np.testing.assert_allclose(huge, [0.0, 1.0, 0.0, 1.0], atol=1e-6)
  assert np.all(np.isfinite(jax.grad(lambda t: bounded_logit(t).sum())(huge)))


@pytest.mark.parametrize("head,finite", [("bounded_logit", True), ("tanh", False)])
def test_cross_entropy_optimum_has_finite_pre_logits_only_for_the_bounded_logit(head, finite):
  # The paper's analysis under universal approximation: the network can output
  # any pre-logits z, so minimise CE over z directly. tanh's supremum lies at
  # infinity, so gradient descent keeps growing ||z||; the bounded logit
  # function's optimum (z_y = 2.968, others -1.968) is finite.
  from jaxrobust.losses import cross_entropy

  y = jnp.arange(4) % 3
  loss = lambda z: jnp.mean(cross_entropy(apply_head(head, z), y))
  step = jax.jit(lambda z: z - 3.0 * jax.grad(loss)(z))
  z = jnp.zeros((4, 3))
  norms = []
  for block in range(3):
    z = jax.lax.fori_loop(0, 3000, lambda _, z: step(z), z)
    norms.append(float(jnp.abs(z).max()))
  if finite:
    expected = np.where(np.eye(3)[np.asarray(y)] > 0, 2.968, -1.968)
    np.testing.assert_allclose(z, expected, atol=5e-3)
    assert norms[-1] - norms[0] < 1e-3
  else:
    assert norms[0] > 4.0 and norms[-1] > norms[0] + 0.3  # still growing
