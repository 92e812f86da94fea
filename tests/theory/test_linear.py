"""Closed forms of linear adversarial losses: equal to the PGD optimum, and a true maximum.

References: Kanai et al., arXiv:2103.01400 (2021), Sec. 4.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize

from jaxrobust.attacks.pgd import PGD
from jaxrobust.losses import cross_entropy
from jaxrobust.theory import linear

D, N = 16, 8
# Radii per norm that keep x + d inside (0.2, 0.8) for x in [0.3, 0.7]: the box
# [0, 1] never binds, so PGD's clipping is a no-op and the unboxed closed form applies.
RADII = {"linf": 0.05, "l2": 0.1, "l1": 0.1}


def _problem(seed=0):
  kw, kx, ky = jax.random.split(jax.random.key(seed), 3)
  w = jax.random.normal(kw, (D,))
  x = jax.random.uniform(kx, (N, D), minval=0.3, maxval=0.7)
  y = jnp.where(jax.random.bernoulli(ky, 0.5, (N,)), 1.0, -1.0)
  return w, 0.1, x, y


@pytest.mark.parametrize("norm", ["linf", "l2", "l1"])
def test_closed_form_equals_pgd_optimum(norm):
  w, b, x, y = _problem()
  eps = RADII[norm]
  labels = ((y + 1) / 2).astype(jnp.int32)
  logits_fn = linear.two_class_logits_fn(w, b)
  # The L1 step of PGD moves the coordinates at or above the 95% quantile of
  # |grad| = |w|: with 16 coordinates that is only argmax |w|, the L1 optimum.
  attack = PGD(eps=eps, step_size=eps / 4, steps=12, norm=norm, random_start=False)
  x_adv = attack(logits_fn, x, labels)

  delta = linear.optimal_perturbation(w, y, eps, norm)
  # Nothing was clipped: the optimum lies strictly inside the box.
  assert float(jnp.min(x + delta)) > 0.0 and float(jnp.max(x + delta)) < 1.0
  np.testing.assert_allclose(x_adv - x, delta, atol=1e-5)
  pgd_loss = cross_entropy(logits_fn(x_adv), labels)
  closed = linear.adversarial_logistic_loss(w, b, x, y, eps, norm)
  np.testing.assert_allclose(pgd_loss, closed, atol=1e-5, rtol=0)
  # The attack did something: the adversarial loss exceeds the clean one.
  assert float(jnp.min(closed - cross_entropy(logits_fn(x), labels))) > 1e-3


@pytest.mark.parametrize("p", [1, 1.5, 2, 3, math.inf, "linf"])
def test_closed_form_is_the_maximum_over_the_ball(p):
  w, b, x, y = _problem(1)
  eps = 0.2
  delta = linear.optimal_perturbation(w, y, eps, p)
  # On the sphere, and attaining Hoelder's bound w.d = -y eps ||w||_q.
  np.testing.assert_allclose(linear.lp_norm(delta, p), eps, rtol=1e-5)
  np.testing.assert_allclose(delta @ w, -y * eps * linear.dual_norm(w, p), rtol=1e-5)
  closed = linear.adversarial_logistic_loss(w, b, x, y, eps, p)
  np.testing.assert_allclose(linear.logistic(linear.margin(w, b, x + delta, y)), closed,
                             rtol=1e-5)
  # No random point of the ball does better.
  z = jax.random.normal(jax.random.key(2), (512, D))
  z = eps * z / linear.lp_norm(z, p)[:, None]
  losses = jax.vmap(lambda d: linear.logistic(linear.margin(w, b, x + d, y)))(z)
  assert float(jnp.max(losses - closed[None])) <= 1e-6


@pytest.mark.parametrize("p", [1.5, 3.0, 7.0])
def test_dual_norm_matches_scipy_maximum(p):
  """max_{||d||_p <= 1} w.d by SLSQP in float64 equals ||w||_q (the general-p closed form)."""
  w = np.asarray(jax.random.normal(jax.random.key(3), (5,)), np.float64)
  start = np.asarray(linear.steepest_unit_vector(jnp.asarray(w), p), np.float64) * 0.5
  result = optimize.minimize(
      lambda d: -w @ d, start, jac=lambda d: -w, method="SLSQP",
      constraints=[{"type": "ineq", "fun": lambda d: 1.0 - np.sum(np.abs(d) ** p)}],
      options={"ftol": 1e-14, "maxiter": 500})
  np.testing.assert_allclose(-result.fun, float(linear.dual_norm(jnp.asarray(w), p)),
                             rtol=1e-5)
  np.testing.assert_allclose(result.x, linear.steepest_unit_vector(jnp.asarray(w), p),
                             atol=1e-3)


def test_hinge_closed_form_and_dual_exponents():
  w, b, x, y = _problem(4)
  for p in ("l1", "l2", "linf", 3.0):
    delta = linear.optimal_perturbation(w, y, 0.3, p)
    np.testing.assert_allclose(linear.adversarial_hinge_loss(w, b, x, y, 0.3, p),
                               linear.hinge(linear.margin(w, b, x + delta, y)), rtol=1e-5,
                               atol=1e-6)
  assert linear.dual_exponent(1) == math.inf
  assert linear.dual_exponent("l2") == 2.0
  assert linear.dual_exponent(math.inf) == 1.0
  assert linear.dual_exponent(3) == pytest.approx(1.5)
  # eps = 0 is the clean loss.
  np.testing.assert_allclose(linear.adversarial_logistic_loss(w, b, x, y, 0.0, "l2"),
                             linear.logistic(linear.margin(w, b, x, y)))


@pytest.mark.parametrize("call, message", [
    (lambda w, x, y: linear.adversarial_logistic_loss(w, 0.0, x, y, 0.1, 0.5), "p must be >= 1"),
    (lambda w, x, y: linear.adversarial_logistic_loss(w, 0.0, x, y, 0.1, "l3"), "Unknown norm"),
    (lambda w, x, y: linear.adversarial_logistic_loss(w, 0.0, x, y, -0.1, 2), "eps must be finite and >= 0"),
    (lambda w, x, y: linear.adversarial_hinge_loss(w, 0.0, x, (y + 1) / 2, 0.1, 2), r"-1 or \+1"),
    (lambda w, x, y: linear.optimal_perturbation(w, y, -1.0, "linf"), "eps must be finite and >= 0"),
    (lambda w, x, y: linear.dual_exponent(float("nan")), "p must be >= 1"),
    (lambda w, x, y: linear.margin_loss("square"), "Unknown margin loss"),
])
def test_bad_input_raises(call, message):
  w, _, x, y = _problem()
  with pytest.raises(ValueError, match=message):
    call(w, x, y)
