"""CDAN's multilinear map (exact and randomized) and CDAN+E's entropy weights."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import entropy as scipy_entropy

from jaxrobust.adaptation import (condition, conditioning_dim, entropy, entropy_weights,
                                  multilinear_map, randomized_multilinear_map)


def test_multilinear_map_is_the_flattened_outer_product():
  f = jax.random.normal(jax.random.key(0), (5, 3))
  g = jax.nn.softmax(jax.random.normal(jax.random.key(1), (5, 4)))
  t = multilinear_map(f, g)
  assert t.shape == (5, 12)
  np.testing.assert_allclose(t, np.einsum("bi,bc->bic", f, g).reshape(5, 12), rtol=1e-6)
  assert t[2, 1 * 4 + 3] == pytest.approx(float(f[2, 1] * g[2, 3]))
  # One-hot predictions put the features in the predicted class's block.
  onehot = jax.nn.one_hot(jnp.array([0, 1, 2, 3, 0]), 4)
  np.testing.assert_array_equal(multilinear_map(f, onehot).reshape(5, 3, 4)[1, :, 1], f[1])


def test_randomized_map_preserves_inner_products_in_expectation():
  key = jax.random.key(2)
  f = jax.random.normal(jax.random.fold_in(key, 0), (2, 16))
  g = jax.nn.softmax(2 * jax.random.normal(jax.random.fold_in(key, 1), (2, 10)))
  exact = multilinear_map(f, g)
  want = float(exact[0] @ exact[1])
  dim = 2048
  draws = [randomized_multilinear_map(f, g, jax.random.fold_in(key, 10 + i), dim)
           for i in range(64)]
  assert draws[0].shape == (2, dim)
  estimate = np.mean([float(t[0] @ t[1]) for t in draws])
  # Mean of 64 independent estimates: its spread is far below this tolerance.
  assert estimate == pytest.approx(want, abs=0.1 * abs(float(exact[0] @ exact[0])) ** 0.5
                                   * abs(float(exact[1] @ exact[1])) ** 0.5)
  # Same key, same map.
  np.testing.assert_array_equal(randomized_multilinear_map(f, g, key, 8),
                                randomized_multilinear_map(f, g, key, 8))


def test_condition_switches_to_the_randomized_map_when_wide():
  key = jax.random.key(0)
  g = jax.nn.softmax(jnp.zeros((2, 10)))
  assert condition(jnp.ones((2, 128)), g, key).shape == (2, 1280)  # 1280 <= 4096: exact
  assert condition(jnp.ones((2, 500)), g, key).shape == (2, 1024)  # 5000 > 4096
  assert condition(jnp.ones((2, 8)), g, key, randomized_dim=32).shape == (2, 32)
  assert conditioning_dim(128, 10) == 1280 and conditioning_dim(500, 10) == 1024
  assert conditioning_dim(8, 10, 32) == 32


def test_entropy_weights_match_scipy_and_their_range():
  probs = jax.nn.softmax(jax.random.normal(jax.random.key(3), (6, 5)) * 3)
  np.testing.assert_allclose(entropy(probs), scipy_entropy(np.asarray(probs), axis=1),
                             rtol=1e-5)
  w = entropy_weights(jnp.concatenate([jnp.eye(5)[:1], jnp.full((1, 5), 0.2), probs]))
  assert float(w[0]) == pytest.approx(2.0)       # one-hot: H = 0
  assert float(w[1]) == pytest.approx(1.2, rel=1e-6)  # uniform: 1 + 1/C
  assert np.all((np.asarray(w) >= 1.2 - 1e-6) & (np.asarray(w) <= 2.0))


def test_bad_shapes_are_named():
  with pytest.raises(ValueError, match="same number of examples"):
    multilinear_map(jnp.ones((3, 4)), jnp.ones((2, 5)) / 5)
  with pytest.raises(ValueError, match="features must be"):
    multilinear_map(jnp.ones((3,)), jnp.ones((3, 5)) / 5)
