"""The min-norm point of the convex hull of K task gradients (MGDA's sub-problem).

min_alpha || sum_t alpha_t g_t ||^2 over the simplex (alpha >= 0, sum 1). Its
solution is a common descent direction for every task (or zero at a Pareto
stationary point, e.g. when two gradients are exactly opposite). Everything
works on the Gram matrix M = G G^T [K, K], so the dimension of the gradients
never enters the solver.

K = 2 has a closed form (Sener & Koltun, Algorithm 1). For K > 2 the solver
starts from the best pair's exact solution and runs Frank-Wolfe iterations
(Algorithm 2): move toward the vertex e_t of the smallest (M alpha)_t with
the exact line-search step of the two-vector problem.

Reference: Sener & Koltun, "Multi-Task Learning as Multi-Objective
Optimization", NeurIPS 2018; Jaggi, "Revisiting Frank-Wolfe", ICML 2013.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import _checks

_TINY = 1e-12


def line_search(aa: jax.Array, ab: jax.Array, bb: jax.Array) -> jax.Array:
  """argmin over gamma in [0, 1] of ||(1 - gamma) a + gamma b||^2 from the inner products.

  gamma = (aa - ab) / (aa + bb - 2 ab), clipped; equal vectors (a zero
  denominator) take gamma = 0 (every gamma is optimal).
  """
  for name, value in (("aa", aa), ("ab", ab), ("bb", bb)):
    _checks.check_number(name, value)
  for name, value in (("aa", aa), ("bb", bb)):
    _checks.check_number(name, value, low=0)  # squared norms
  denom = aa + bb - 2.0 * ab
  gamma = jnp.where(denom > _TINY, (aa - ab) / jnp.where(denom > _TINY, denom, 1.0), 0.0)
  return jnp.clip(gamma, 0.0, 1.0)


def min_norm_weights(gram: jax.Array, *, iterations: int = 250,
                     tolerance: float = 1e-7) -> jax.Array:
  """The simplex weights alpha [K] minimizing alpha^T M alpha, M = gram [K, K].

  K = 1: [1]; K = 2: exact; K > 2: Frank-Wolfe from the best pair, at most
  `iterations` steps, stopping when alpha moves less than `tolerance` (L1).
  """
  # A NaN or non-symmetric matrix is no Gram matrix: the solver would return weights anyway.
  _checks.check_gram("gram", gram)
  _checks.check_int_at_least("iterations", iterations, 1)
  _checks.check_real("tolerance", tolerance, low=0.0)
  k = gram.shape[0]
  if k == 1:
    return jnp.ones((1,), gram.dtype)
  # Best pair: alpha = gamma e_j + (1 - gamma) e_i, i < j.
  pairs = jnp.array(list(itertools.combinations(range(k), 2)))
  i, j = pairs[:, 0], pairs[:, 1]
  gamma = line_search(gram[i, i], gram[i, j], gram[j, j])
  value = ((1 - gamma) ** 2 * gram[i, i] + 2 * gamma * (1 - gamma) * gram[i, j]
           + gamma ** 2 * gram[j, j])
  best = jnp.argmin(value)
  eye = jnp.eye(k, dtype=gram.dtype)
  alpha = (1 - gamma[best]) * eye[i[best]] + gamma[best] * eye[j[best]]
  if k == 2:
    return alpha

  def step(carry):
    alpha, _, n = carry
    m_alpha = gram @ alpha
    t = jnp.argmin(m_alpha)
    g = line_search(alpha @ m_alpha, m_alpha[t], gram[t, t])
    new = (1 - g) * alpha + g * eye[t]
    return new, jnp.abs(new - alpha).sum(), n + 1

  def going(carry):
    _, change, n = carry
    return (change > tolerance) & (n < iterations)

  alpha, _, _ = jax.lax.while_loop(going, step, (alpha, jnp.array(jnp.inf, gram.dtype), 0))
  return alpha


def min_norm_from_gradients(grads: jax.Array, **kwargs) -> jax.Array:
  """alpha [K] for gradients [K, D] (one flattened task gradient per row)."""
  if np.ndim(grads) != 2 or not np.shape(grads)[0]:
    raise ValueError(f"gradients must be [K, D] with K >= 1, got shape {np.shape(grads)}.")
  _checks.check_array_range("grads", grads)
  return min_norm_weights(grads @ grads.T, **kwargs)
