"""Adversarial logistic regression trained to its optimum, and the Hessian's spectrum there.

The objective in theta = (w, b) [d + 1] is

  F(theta) = mean_i l(y_i (w.x_i + b) - eps ||w||_q) + weight_decay / 2 ||w||_2^2,

convex (the adversarial margin is concave in theta and l is convex and
non-increasing). A finite minimiser exists when the classes overlap (even
without weight decay), or for any data when weight_decay > 0; on linearly
separable data with eps below the margin and no weight decay, ||w|| grows
without bound and there is no optimum to measure at. It is minimised with
L-BFGS (optax, zoom line search) from a small nonzero start, as the L2 loss is
not differentiable at w = 0.

Sharpness at the optimum: the top Hessian eigenvalue and the trace, exactly
(`jax.hessian`, small d) and matrix-free (Lanczos, Hutchinson).

References: Yamada, Kanai, Iwata, Takahashi, Yamanaka, Takahashi, Kumagai,
"Adversarial Training Makes Weight Loss Landscape Sharper in Logistic
Regression", arXiv:2102.02950 (2021): with L2 attacks, the eigenvalues of this
Hessian grow with eps.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxrobust import _checks
from jaxrobust.theory import hessian as hessian_lib
from jaxrobust.theory import linear


def objective(x: jax.Array, y: jax.Array, eps, p="l2", weight_decay=0.0,
              loss: str = "logistic"):
  """F(theta) above as a function of theta = concat(w, b) [d + 1].

  Args:
    x: inputs [n, d]; y: labels [n] in {-1, +1}; eps >= 0; p: attack norm
    (p >= 1 or "l1"/"l2"/"linf"); weight_decay >= 0; loss: "logistic" or "hinge".
  """
  linear.check_eps(eps)
  linear.check_labels(y)
  _checks.check_ndim("x", x, ("n", "d"))
  _checks.check_same_length(x=x, y=y)
  linear.norm_exponent(p)
  linear.check_eps(weight_decay, "weight_decay")
  loss_fn = linear.margin_loss(loss)

  def f(theta):
    w, b = theta[:-1], theta[-1]
    m = linear.adversarial_margin(w, b, x, y, eps, p)
    return jnp.mean(loss_fn(m)) + 0.5 * weight_decay * jnp.sum(w * w)

  return f


def initial_theta(x: jax.Array, y: jax.Array, scale: float = 1e-2) -> jax.Array:
  """A small start along the class-mean difference (nonzero: the L2 loss has a kink at w = 0)."""
  _checks.check_same_length(x=x, y=y)
  direction = jnp.mean(y[:, None] * x, axis=0)
  direction = direction / jnp.maximum(jnp.linalg.norm(direction), 1e-12)
  return jnp.concatenate([scale * direction, jnp.zeros((1,), x.dtype)])


class FitResult(NamedTuple):
  """theta [d + 1] at the end, objective value, and ||grad F|| there (the optimality check)."""
  theta: jax.Array
  value: jax.Array
  grad_norm: jax.Array


def minimize(f, theta0: jax.Array, steps: int = 300) -> FitResult:
  """`steps` iterations of L-BFGS (optax) on a convex f from theta0, inside fori_loop."""
  _checks.check_int_at_least("steps", steps, 1)
  opt = optax.lbfgs()
  value_and_grad = optax.value_and_grad_from_state(f)

  def body(_, carry):
    theta, state = carry
    value, grad = value_and_grad(theta, state=state)
    updates, state = opt.update(grad, state, theta, value=value, grad=grad,
                                value_fn=f)
    return optax.apply_updates(theta, updates), state

  theta, _ = jax.lax.fori_loop(0, steps, body, (theta0, opt.init(theta0)))
  value, grad = jax.value_and_grad(f)(theta)
  return FitResult(theta, value, jnp.linalg.norm(grad))


def fit_adversarial_logreg(x: jax.Array, y: jax.Array, eps, p="l2",
                           weight_decay=0.0, steps: int = 300) -> FitResult:
  """The minimiser of F (see module doc) by L-BFGS: x [n, d], y [n] in {-1, +1}."""
  return minimize(objective(x, y, eps, p, weight_decay), initial_theta(x, y), steps)


class Sharpness(NamedTuple):
  """Spectrum summaries of the Hessian of F at theta: exact and matrix-free."""
  top_exact: jax.Array
  trace_exact: jax.Array
  top_lanczos: jax.Array
  top_power: jax.Array
  trace_hutchinson: jax.Array


def measure_sharpness(f, theta: jax.Array, *, key: jax.Array, lanczos_iters: int = 20,
              power_iters: int = 100, trace_samples: int = 100,
              exact: bool = True) -> Sharpness:
  """Top eigenvalue and trace of the Hessian of f at theta [d].

  `exact=False` skips `jax.hessian` (NaN in its fields) for large d.
  """
  hvp, dim = hessian_lib.make_hvp(f, theta)
  k1, k2, k3 = jax.random.split(key, 3)
  if exact:
    eig = jnp.linalg.eigvalsh(hessian_lib.exact_hessian(f, theta))
    top, trace = eig[-1], jnp.sum(eig)
  else:
    top = trace = jnp.asarray(jnp.nan, theta.dtype)
  return Sharpness(
      top_exact=top, trace_exact=trace,
      top_lanczos=hessian_lib.lanczos(hvp, dim, key=k1, num_iters=lanczos_iters).top,
      top_power=hessian_lib.power_iteration(hvp, dim, key=k2, num_iters=power_iters)[0],
      trace_hutchinson=hessian_lib.hutchinson_trace(hvp, dim, key=k3,
                                                    num_samples=trace_samples)[0])


def robust_accuracy(theta: jax.Array, x: jax.Array, y: jax.Array, eps, p) -> jax.Array:
  """Fraction of points whose worst-case margin y f(x) - eps ||w||_q is positive."""
  return jnp.mean(linear.adversarial_margin(theta[:-1], theta[-1], x, y, eps, p) > 0)


def overlapping_gaussians(key: jax.Array, n: int = 200, dim: int = 5,
                          separation: float = 1.0, scale: float = 1.0):
  """Two Gaussian classes N(+-mu, scale^2 I), ||mu|| = separation / 2, half each: (x [n, dim], y [n]).

  With separation comparable to scale the classes overlap, so adversarial
  logistic regression has a finite minimiser without weight decay.
  """
  _checks.check_int_at_least("n", n, 2)
  _checks.check_int_at_least("dim", dim, 1)
  _checks.check_number("separation", separation)
  _checks.check_number("scale", scale, low=0)
  kx, ky = jax.random.split(key)
  y = jnp.where(jnp.arange(n) % 2 == 0, 1.0, -1.0)
  y = jax.random.permutation(ky, y)
  mu = jnp.zeros((dim,)).at[0].set(separation / 2)
  x = y[:, None] * mu[None] + scale * jax.random.normal(kx, (n, dim))
  return x, y
