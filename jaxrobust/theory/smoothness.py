"""Numerical Lipschitz constants of the gradient of a loss in its parameters.

A loss is L-smooth on a convex set S when ||g(u) - g(v)|| <= L ||u - v|| for u,
v in S (g the gradient); where the Hessian H exists, L = sup_S ||H||_2. These
functions estimate L from below by finite differences of exact gradients (along
segments, across a coordinate's zero, on random pairs, along a training
trajectory) and from the Hessian's spectral norm where it exists.

For the L2 adversarial logistic loss of a linear model, with x~ = (x, 1) and
u = w / ||w||, the Hessian in (w, b) is

  mean_i l''(m_i) a_i a_i^T + eps mean_i |l'(m_i)| (I - u u^T) / ||w||  (on w),

a_i = y_i x~_i - eps (u, 0), which is bounded on {||w|| >= c} by
`l2_gradient_lipschitz_bound`; it blows up only as w -> 0. For Linf the
gradient l'(m)(y x~ - eps (sign(w), 0)) jumps by 2 eps |l'(m)| where a
coordinate of w crosses 0, so the finite-difference estimate grows like 1/h.

References: Kanai, Yamada, Takahashi, Yamanaka, Ida, "Smoothness Analysis of
Adversarial Training", arXiv:2103.01400 (2021), Sec. 4 (the L2 adversarial loss
of a binary linear classifier is smooth except at w = 0; the Linf one is not).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from jaxrobust import _checks

FlatLoss = Callable[[jax.Array], jax.Array]


def segment(start: jax.Array, end: jax.Array, num_points: int) -> jax.Array:
  """num_points evenly spaced points from start [d] to end [d]: [num_points, d]."""
  _checks.check_int_at_least("num_points", num_points, 2)
  _checks.check_same_length(start=start, end=end)
  t = jnp.linspace(0.0, 1.0, num_points)[:, None]
  return (1.0 - t) * start[None] + t * end[None]


def gradient_lipschitz_along_path(loss_fn: FlatLoss, path: jax.Array) -> jax.Array:
  """||g(w_{t+1}) - g(w_t)|| / ||w_{t+1} - w_t|| for consecutive points of path [T, d]: [T - 1].

  Steps of zero length give 0 (no information), not NaN.
  """
  _checks.check_ndim("path", path, ("points", "d"))
  if path.shape[0] < 2:
    raise ValueError(f"path must hold >= 2 points [points, d], got shape {path.shape}.")
  grads = jax.vmap(jax.grad(loss_fn))(path)
  dg = jnp.linalg.norm(jnp.diff(grads, axis=0), axis=-1)
  dw = jnp.linalg.norm(jnp.diff(path, axis=0), axis=-1)
  return jnp.where(dw > 0, dg / jnp.where(dw > 0, dw, 1.0), 0.0)


def gradient_lipschitz_across(loss_fn: FlatLoss, w: jax.Array, direction: jax.Array,
                              steps: jax.Array) -> jax.Array:
  """||g(w + h u) - g(w - h u)|| / (2 h) for each h in steps [k], u = direction / ||direction||: [k].

  Bounded as h -> 0 where g is Lipschitz around w; grows like 1/h across a jump
  of g (e.g. the Linf adversarial loss with w_k = 0 and u = e_k).
  """
  _checks.check_number("steps", steps, low=0, low_open=True)
  _checks.check_number("||direction||", jnp.linalg.norm(direction), low=0, low_open=True)
  u = direction / jnp.linalg.norm(direction)
  grad = jax.grad(loss_fn)

  def one(h):
    return jnp.linalg.norm(grad(w + h * u) - grad(w - h * u)) / (2.0 * h)

  return jax.vmap(one)(jnp.asarray(steps, w.dtype))


def gradient_lipschitz_random_pairs(loss_fn: FlatLoss, center: jax.Array, radius,
                                    *, key: jax.Array, num_pairs: int = 256) -> jax.Array:
  """max over random pairs u, v in the L2 ball B(center, radius) of ||g(u) - g(v)|| / ||u - v||.

  A lower bound on the gradient's Lipschitz constant on that (convex) ball.
  """
  _checks.check_int_at_least("num_pairs", num_pairs, 1)
  _checks.check_number("radius", radius, low=0)
  _checks.check_ndim("center", center, ("d",))
  d = center.shape[0]
  keys = jax.random.split(key, 4)

  def ball(k_dir, k_rad):
    z = jax.random.normal(k_dir, (num_pairs, d))
    z = z / jnp.linalg.norm(z, axis=-1, keepdims=True)
    r = radius * jax.random.uniform(k_rad, (num_pairs, 1)) ** (1.0 / d)
    return center[None] + r * z

  u, v = ball(keys[0], keys[1]), ball(keys[2], keys[3])
  grad = jax.vmap(jax.grad(loss_fn))
  dg = jnp.linalg.norm(grad(u) - grad(v), axis=-1)
  return jnp.max(dg / jnp.maximum(jnp.linalg.norm(u - v, axis=-1), 1e-30))


def hessian_norm(loss_fn: FlatLoss, w: jax.Array) -> jax.Array:
  """||H(w)||_2 = max |eigenvalue| of the exact Hessian at w [d] (small d)."""
  _checks.check_ndim("w", w, ("d",))
  return jnp.max(jnp.abs(jnp.linalg.eigvalsh(jax.hessian(loss_fn)(w))))


def l2_gradient_lipschitz_bound(x: jax.Array, eps, min_norm) -> jax.Array:
  """Upper bound on the gradient-Lipschitz constant of the mean L2 adversarial logistic loss.

  On a convex set of (w, b) with ||w||_2 >= min_norm: l'' <= 1/4 and |l'| <= 1
  in the Hessian above give 1/4 max_i (||(x_i, 1)||_2 + eps)^2 + eps / min_norm.

  Args:
    x: inputs [n, d] (the bias is included as a constant feature 1).
    eps: L2 radius >= 0.
    min_norm: c > 0, a lower bound on ||w||_2 over the set.
  """
  _checks.check_number("min_norm (the loss is not smooth at w = 0)", min_norm, low=0,
                       low_open=True)
  _checks.check_number("eps", eps, low=0)
  row = jnp.sqrt(jnp.sum(x * x, axis=-1) + 1.0)
  return 0.25 * jnp.max(row + eps) ** 2 + eps / min_norm


def gradient_descent_path(loss_fn: FlatLoss, w0: jax.Array, learning_rate,
                          steps: int) -> jax.Array:
  """Iterates of full-batch gradient descent w_{t+1} = w_t - lr g(w_t): [steps + 1, d]."""
  _checks.check_int_at_least("steps", steps, 1)
  _checks.check_number("learning_rate", learning_rate, low=0, low_open=True)
  grad = jax.grad(loss_fn)

  def step(w, _):
    nxt = w - learning_rate * grad(w)
    return nxt, nxt

  _, path = jax.lax.scan(step, w0, None, length=steps)
  return jnp.concatenate([w0[None], path], axis=0)
