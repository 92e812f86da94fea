"""The smoothness theorems of Kanai et al. for a binary linear classifier, numerically.

L2: the gradient of the adversarial logistic loss is Lipschitz on sets away from
w = 0 (bounded by `l2_gradient_lipschitz_bound`), and the bound degrades only as
w -> 0. Linf: the gradient jumps where a coordinate of w crosses 0, so the
finite-difference estimate grows like 1/h.

References: Kanai et al., "Smoothness Analysis of Adversarial Training",
arXiv:2103.01400 (2021), Sec. 4.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust.theory import sharpness, smoothness

EPS = 0.3
STEPS = jnp.asarray([1e-1, 1e-2, 1e-3])


@pytest.fixture(scope="module")
def data():
  return sharpness.overlapping_gaussians(jax.random.key(0), n=100, dim=5,
                                         separation=2.0)


def _loss(data, p):
  return sharpness.objective(*data, EPS, p)


def test_l2_bounded_linf_blows_up_across_a_coordinate_zero(data):
  # theta = (w, b) with w_1 = 0; the path crosses it along e_1.
  theta = jnp.asarray([1.0, 0.0, 0.5, -0.7, 0.3, 0.1])
  e1 = jnp.zeros(6).at[1].set(1.0)
  bound = smoothness.l2_gradient_lipschitz_bound(data[0], EPS, min_norm=1.0)

  across = lambda p: jax.jit(lambda t: smoothness.gradient_lipschitz_across(
      _loss(data, p), t, e1, STEPS))(theta)
  l2 = across("l2")
  assert float(jnp.max(l2)) <= float(bound)
  # Finite differences converge to the directional curvature, a finite value.
  np.testing.assert_allclose(l2[-1], l2[-2], rtol=0.05)

  linf = across("linf")
  # A gradient jump J gives J / (2h): h * estimate tends to J / 2 > 0 ...
  np.testing.assert_allclose(linf[-1] * STEPS[-1], linf[-2] * STEPS[-2], rtol=0.1)
  # ... so at h = 1e-3 the estimate is far above the L2 one and the L2 bound.
  assert float(linf[-1]) > 50 * float(l2[-1])
  assert float(linf[-1]) > 10 * float(bound)


def test_l2_lipschitz_on_a_ball_away_from_zero_and_blowup_at_zero(data):
  f = _loss(data, "l2")
  center = jnp.asarray([1.0, 0.0, 0.5, -0.7, 0.3, 0.1])  # ||w|| ~ 1.36
  # The ball of radius 0.3 keeps ||w|| >= 1.0; random pairs and the Hessian
  # norm stay below the bound for that set.
  bound = smoothness.l2_gradient_lipschitz_bound(data[0], EPS, min_norm=1.0)
  pairs = jax.jit(lambda c: smoothness.gradient_lipschitz_random_pairs(
      f, c, 0.3, key=jax.random.key(1), num_pairs=128))(center)
  assert 0.0 < float(pairs) <= float(bound)
  norms = jax.jit(jax.vmap(lambda s: smoothness.hessian_norm(f, center.at[:-1].multiply(s))))(
      jnp.asarray([1.0, 1e-2, 1e-3]))
  assert float(norms[0]) <= float(bound)
  # Towards w = 0 the curvature term eps |l'| (I - u u^T) / ||w|| takes over:
  # shrinking w tenfold multiplies the Hessian norm by about ten.
  small, tiny = norms[1], norms[2]
  np.testing.assert_allclose(tiny / small, 10.0, rtol=0.1)


def test_lipschitz_along_a_training_trajectory(data):
  f = _loss(data, "l2")
  w0 = sharpness.initial_theta(*data, scale=0.5)
  path, ratios = jax.jit(lambda w: (lambda p: (p, smoothness.gradient_lipschitz_along_path(f, p)))(
      smoothness.gradient_descent_path(f, w, 0.5, 60)))(w0)
  assert ratios.shape == (60,)
  min_norm = float(jnp.min(jnp.linalg.norm(path[:, :-1], axis=-1)))
  assert min_norm > 0.4  # the trajectory stays away from w = 0
  bound = smoothness.l2_gradient_lipschitz_bound(data[0], EPS, min_norm=min_norm)
  assert 0.0 < float(jnp.max(ratios)) <= float(bound)
  # Gradient descent with a step below 2 / L decreased the loss.
  assert float(f(path[-1])) < float(f(path[0]))


def test_bad_input_raises(data):
  with pytest.raises(ValueError, match=r"min_norm.* must be finite and > 0"):
    smoothness.l2_gradient_lipschitz_bound(data[0], EPS, min_norm=0.0)
  with pytest.raises(ValueError, match="eps must be finite and >= 0"):
    smoothness.l2_gradient_lipschitz_bound(data[0], -EPS, min_norm=1.0)
  with pytest.raises(ValueError, match="num_points"):
    smoothness.segment(jnp.zeros(3), jnp.ones(3), 1)
  with pytest.raises(ValueError, match="steps"):
    smoothness.gradient_descent_path(_loss(data, "l2"), jnp.ones(6), 0.1, 0)
