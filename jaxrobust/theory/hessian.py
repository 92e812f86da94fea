"""Hessians of a scalar loss in its parameters: exact for small d, matrix-free for large d.

`loss_fn(params) -> scalar` with `params` any pytree; everything works on the
flattened parameter vector [d] (`jax.flatten_util.ravel_pytree`). The
matrix-free routes need only Hessian-vector products (forward-over-reverse,
one jvp of the gradient), so they scale to networks:

  * power iteration: the eigenvalue of largest magnitude;
  * Lanczos with full reorthogonalisation: the extreme eigenvalues (Ritz values);
  * Hutchinson: an unbiased estimate of the trace with Rademacher probes.

All loops are `lax.fori_loop`; callers jit.

References: Pearlmutter, "Fast Exact Multiplication by the Hessian", Neural
Computation 1994; Lanczos, 1950 (see Golub & Van Loan, Matrix Computations,
Sec. 10.1); Hutchinson, "A stochastic estimator of the trace of the influence
matrix", 1989; used for sharpness as in Yao et al., "PyHessian", 2020, and
Yamada et al., arXiv:2102.02950 (2021).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from jaxrobust import _checks

HvpFn = Callable[[jax.Array], jax.Array]


def _check_counts(**counts: int) -> None:
  for name, value in counts.items():
    _checks.check_int_at_least(name, value, 1)


def flat_loss(loss_fn: Callable[[Any], jax.Array], params: Any):
  """(loss of a flat vector, the flat params [d])."""
  flat, unravel = ravel_pytree(params)
  return (lambda v: loss_fn(unravel(v))), flat


def exact_hessian(loss_fn: Callable[[Any], jax.Array], params: Any) -> jax.Array:
  """The full Hessian [d, d] by `jax.hessian` on the flat parameters (small d only)."""
  _checks.check_finite_tree("params", params)
  f, flat = flat_loss(loss_fn, params)
  return jax.hessian(f)(flat)


def make_hvp(loss_fn: Callable[[Any], jax.Array], params: Any) -> tuple[HvpFn, int]:
  """(v [d] -> H v [d], d): Hessian-vector products at `params`, never forming H."""
  _checks.check_finite_tree("params", params)
  f, flat = flat_loss(loss_fn, params)
  grad = jax.grad(f)
  def hvp(v):
    return jax.jvp(grad, (flat,), (v.astype(flat.dtype),))[1]
  return hvp, flat.shape[0]


def power_iteration(hvp: HvpFn, dim: int, *, key: jax.Array,
                    num_iters: int = 100) -> tuple[jax.Array, jax.Array]:
  """(eigenvalue of largest |.|, its unit eigenvector [dim]) by power iteration.

  The Rayleigh quotient v.Hv of the last iterate is returned, so the sign is
  kept (a negative-dominant Hessian gives a negative value).
  """
  _check_counts(dim=dim, num_iters=num_iters)
  v = jax.random.normal(key, (dim,))
  v = v / jnp.linalg.norm(v)

  def body(_, v):
    w = hvp(v)
    return w / jnp.maximum(jnp.linalg.norm(w), 1e-30)

  v = jax.lax.fori_loop(0, num_iters, body, v)
  return jnp.vdot(v, hvp(v)), v


class LanczosResult(NamedTuple):
  """Ritz values (ascending) [num_iters] and the tridiagonal (alpha [k], beta [k - 1])."""
  ritz_values: jax.Array
  alpha: jax.Array
  beta: jax.Array

  @property
  def top(self) -> jax.Array:
    return self.ritz_values[-1]

  @property
  def bottom(self) -> jax.Array:
    return self.ritz_values[0]


def lanczos(hvp: HvpFn, dim: int, *, key: jax.Array,
            num_iters: int = 30) -> LanczosResult:
  """Lanczos tridiagonalisation with full reorthogonalisation; Ritz values of H.

  With num_iters >= dim (capped at dim) it recovers the whole spectrum; the
  extreme Ritz values converge first, typically in a few tens of products.
  Memory: the basis [num_iters, dim].
  """
  _check_counts(dim=dim, num_iters=num_iters)
  # A Krylov space cannot outgrow the space: dim steps give the whole spectrum.
  k = min(num_iters, dim)
  v0 = jax.random.normal(key, (dim,))
  v0 = v0 / jnp.linalg.norm(v0)
  basis = jnp.zeros((k, dim), v0.dtype).at[0].set(v0)
  alpha = jnp.zeros((k,), v0.dtype)
  beta = jnp.zeros((k,), v0.dtype)

  def body(i, carry):
    basis, alpha, beta = carry
    v = basis[i]
    hv = hvp(v)
    w = hv
    a = jnp.vdot(w, v)
    # Gram-Schmidt against all stored vectors, twice: rows > i are still zero,
    # and Lanczos without it loses orthogonality and repeats eigenvalues.
    for _ in range(2):
      w = w - basis.T @ (basis @ w)
    b = jnp.linalg.norm(w)
    # An invariant subspace was found (b ~ 0): restart with a fresh vector
    # orthogonal to the basis; its beta stays 0, so the spectrum splits cleanly.
    fresh = jax.random.normal(jax.random.fold_in(key, i), (dim,))
    for _ in range(2):
      fresh = fresh - basis.T @ (basis @ fresh)
    # Relative to ||Hv||, so the test does not depend on the Hessian's scale.
    breakdown = b <= 1e-5 * jnp.linalg.norm(hv)
    nxt = jnp.where(breakdown, fresh / jnp.linalg.norm(fresh), w / jnp.where(breakdown, 1.0, b))
    basis = jnp.where(i + 1 < k, basis.at[jnp.minimum(i + 1, k - 1)].set(nxt), basis)
    return basis, alpha.at[i].set(a), beta.at[i].set(jnp.where(breakdown, 0.0, b))

  basis, alpha, beta = jax.lax.fori_loop(0, k, body, (basis, alpha, beta))
  off = beta[:k - 1]
  tridiagonal = jnp.diag(alpha) + jnp.diag(off, 1) + jnp.diag(off, -1)
  return LanczosResult(jnp.linalg.eigvalsh(tridiagonal), alpha, off)


def hutchinson_trace(hvp: HvpFn, dim: int, *, key: jax.Array,
                     num_samples: int = 100) -> tuple[jax.Array, jax.Array]:
  """(trace estimate, its standard error): mean of z.Hz over Rademacher z."""
  _check_counts(dim=dim, num_samples=num_samples)

  def body(i, acc):
    z = jax.random.rademacher(jax.random.fold_in(key, i), (dim,), jnp.float32)
    s = jnp.vdot(z, hvp(z))
    return acc[0] + s, acc[1] + s * s

  total, squares = jax.lax.fori_loop(0, num_samples, body, (0.0, 0.0))
  mean = total / num_samples
  var = jnp.maximum(squares / num_samples - mean * mean, 0.0)
  return mean, jnp.sqrt(var / num_samples)
