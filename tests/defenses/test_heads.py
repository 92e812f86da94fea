"""Output maps: sigsoftmax against its definition, stability, and the `head` option."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import models
from jaxrobust.models.heads import apply_head, log_sigsoftmax


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
  plain = models.create("small_cnn", **kw)
  sig = models.create("small_cnn", head="sigsoftmax", **kw)
  x = jax.random.uniform(jax.random.key(0), (3, 8, 8, 1))
  variables = plain.init(jax.random.key(1), x)
  np.testing.assert_allclose(sig.apply(variables, x),
                             apply_head("sigsoftmax", plain.apply(variables, x)), rtol=1e-6)
  for name in ("linear", "mlp"):
    assert models.create(name, num_classes=3, mean=(0.,), std=(1.,), head="sigsoftmax")
  with pytest.raises(ValueError, match="Unknown head 'sigmax'.*sigsoftmax"):
    models.create("small_cnn", head="sigmax", **kw)
