"""Every bound method (certify.BOUND_METHODS) is sound: on a tiny random MLP, every sampled
point of the Linf and L2 balls (within [0, 1]) has its logits and margins within the
method's bounds. A new method's registry line brings this test."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import certify, models
from jaxrobust.certify import bounds

EPS = {"linf": 0.1, "l2": 0.5}
SHAPE = (3, 3, 1)


@functools.lru_cache(maxsize=None)
def _net():
  model = models.MODELS.make("mlp", num_classes=3, mean=(0.5,), std=(0.25,), hidden=(8,))
  x = jax.random.uniform(jax.random.key(0), (4,) + SHAPE)
  variables = model.init(jax.random.key(1), x)
  return certify.network(model, variables, SHAPE), x, jnp.array([0, 1, 2, 0])


def _in_ball(key, x, eps, norm, n=128):
  """n points of the ball around each x within [0, 1] (edge and inside): [n, batch, ...]."""
  if norm == "linf":
    d = jax.random.uniform(key, (n,) + x.shape, minval=-eps, maxval=eps)
    d = jnp.where(jnp.arange(n)[:, None, None, None, None] < n // 2, jnp.sign(d) * eps, d)
  else:
    d = jax.random.normal(key, (n,) + x.shape)
    d = d / jnp.sqrt((d ** 2).sum((2, 3, 4), keepdims=True)) * eps
    d = d * jax.random.uniform(jax.random.fold_in(key, 1), (n, x.shape[0], 1, 1, 1)) ** 0.1
  return jnp.clip(x + d, 0.0, 1.0)  # clipping stays in the ball (it only moves toward x)


def test_registry_names_are_the_walks_methods():
  assert certify.BOUND_METHODS.names() == bounds.METHOD_NAMES
  with pytest.raises(ValueError, match="bound method 'deeppoly'.*'alpha_crown'"):
    certify.BOUND_METHODS.make("deeppoly")
  with pytest.raises(ValueError, match="method.*'lp'.*'crown_ibp'"):
    certify.BoundMethod("lp")


@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("name", certify.BOUND_METHODS.names())
def test_bounds_hold_at_sampled_points(name, norm):
  net, x, y = _net()
  method = certify.BOUND_METHODS.make(name)
  eps = EPS[norm]
  low, up, m_low, m_up = jax.jit(lambda net, x, y: (
      *method.logit_bounds(net, x, eps, norm=norm),
      *method.margin_bounds(net, x, y, eps, norm=norm)))(net, x, y)
  points = _in_ball(jax.random.key(2), x, eps, norm)
  logits = jax.vmap(jax.vmap(net))(points)  # [n, batch, classes]
  margins = jnp.take_along_axis(logits, y[None, :, None], -1) - logits
  tol = 1e-5
  assert np.all(logits >= low - tol) and np.all(logits <= up + tol)
  assert np.all(margins >= m_low - tol) and np.all(margins <= m_up + tol)
  assert np.all(np.isfinite(low)) and np.all(np.isfinite(up)) and np.all(up >= low)
