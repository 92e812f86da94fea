"""The min-norm solver against brute force over the simplex (K = 2, 3), and its exact cases."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import selfsup


def brute_force(grads: np.ndarray, n: int) -> float:
  """min ||alpha G||^2 over the simplex grid of step 1/n (float64)."""
  k = len(grads)
  heads = np.array([c for c in itertools.product(range(n + 1), repeat=k - 1) if sum(c) <= n])
  w = np.concatenate([heads, n - heads.sum(1, keepdims=True)], axis=1) / n
  return float(np.min(np.sum((w @ grads) ** 2, axis=1)))


@pytest.mark.parametrize("k,n", [(2, 20000), (3, 300)])
def test_min_norm_equals_brute_force(k, n):
  rng = np.random.default_rng(k)
  for _ in range(4):
    grads = rng.normal(size=(k, 6))
    alpha = np.asarray(selfsup.min_norm_from_gradients(jnp.asarray(grads, jnp.float32)),
                       np.float64)
    assert alpha.min() >= 0 and alpha.sum() == pytest.approx(1, abs=1e-6)
    value = float(np.sum((alpha @ grads) ** 2))
    want = brute_force(grads, n)
    # The grid's optimum is within a grid step of the true one: never much below it.
    assert value <= want + 1e-4 * (1 + want)
    assert value >= want - 2e-2 * (1 + want)


def test_two_tasks_closed_form():
  g1, g2 = np.array([1.0, 0.0]), np.array([0.0, 2.0])
  # min over gamma of ||gamma g1 + (1 - gamma) g2||^2: gamma = 4/5.
  alpha = selfsup.min_norm_from_gradients(jnp.asarray(np.stack([g1, g2])))
  np.testing.assert_allclose(alpha, [0.8, 0.2], rtol=1e-6)
  # A dominated pair: the shorter gradient alone.
  alpha = selfsup.min_norm_from_gradients(jnp.array([[1.0, 1.0], [3.0, 3.0]]))
  np.testing.assert_allclose(alpha, [1.0, 0.0])


@pytest.mark.parametrize("extra", [0, 1, 2])
def test_exactly_conflicting_gradients_give_zero(extra):
  g = jax.random.normal(jax.random.key(0), (5,))
  rest = jax.random.normal(jax.random.key(1), (extra, 5))
  grads = jnp.concatenate([g[None], -g[None], rest])
  alpha = selfsup.min_norm_from_gradients(grads)
  assert float(jnp.linalg.norm(alpha @ grads)) < 1e-6
  np.testing.assert_allclose(alpha[:2], [0.5, 0.5], atol=1e-6)


def test_single_task_and_bad_input():
  np.testing.assert_array_equal(selfsup.min_norm_weights(jnp.ones((1, 1))), [1.0])
  with pytest.raises(ValueError, match=r"square \[K, K\]"):
    selfsup.min_norm_weights(jnp.ones((2, 3)))
  with pytest.raises(ValueError, match=r"\[K, D\]"):
    selfsup.min_norm_from_gradients(jnp.ones(3))
  with pytest.raises(ValueError, match="iterations"):
    selfsup.min_norm_weights(jnp.eye(3), iterations=0)


def test_combine_weights_shared_and_sums_heads():
  grads = {"encoder": {"w": jnp.array([[1.0, 2.0], [3.0, 4.0]])},
           "heads_0": {"b": jnp.array([[5.0], [0.0]])},
           "heads_1": {"b": jnp.array([[0.0], [7.0]])}}
  out = selfsup.combine(grads, jnp.array([0.25, 0.75]))
  np.testing.assert_allclose(out["encoder"]["w"], [2.5, 3.5])
  np.testing.assert_allclose(out["heads_0"]["b"], [5.0])
  np.testing.assert_allclose(out["heads_1"]["b"], [7.0])
