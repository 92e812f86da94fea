"""FAB's projection: the smallest step onto a hyperplane that stays in the box [0, 1]^d.

For each row, with t in [0, 1]^d, w in R^d and b in R,

    d* = argmin ||d||_p  subject to  <w, t + d> = b,  t + d in [0, 1]^d,

for p in {inf, 2, 1}, solved exactly in O(d log d) (one sort per row). Where the
hyperplane misses the box, d* is the box point closest to it: every coordinate
moved to the bound on the hyperplane's side.

Write c = <w, t> - b and flip the signs of (w, c) so that c >= 0: the step must
lower <w, .> by c. Coordinate i can lower it by at most |w_i| m_i, where m_i is
its room towards the hyperplane (t_i if w_i > 0, 1 - t_i if w_i < 0). Then

* p = inf: d_i = -sign(w_i) min(lam, m_i), lam the smallest radius with
  sum_i |w_i| min(lam, m_i) = c;
* p = 2 (KKT of the box-constrained least-norm problem): d_i = -sign(w_i)
  min(mu |w_i|, m_i), mu the smallest multiplier with sum_i w_i^2 min(mu,
  m_i / |w_i|) = c;
* p = 1 (a fractional knapsack): coordinates in decreasing order of |w_i| move
  to their bound until the remaining part of c fits in one, which moves partly.

The first two share one solver: the smallest lam with sum_i a_i min(lam, nu_i)
= c, a piecewise-linear increasing function of lam evaluated at its sorted
breakpoints nu_i.

References:
  Croce & Hein, "Minimally distorted Adversarial Examples with a Fast Adaptive
  Boundary Attack", ICML 2020 (Section 3.1 and Appendix: projection onto the
  hyperplane intersected with the box, for p = inf, 2, 1).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrobust.attacks import _core

# |w_i| at or below this is a zero coefficient: it cannot move <w, .>, and its
# breakpoint m_i / |w_i| would overflow float32.
_ZERO_W = 1e-30


def _largest_float_where(pred, rows: int, dtype) -> jax.Array:
  """Per row, the largest float tau >= 0 with pred(tau) [rows] True, for pred
  True at 0 and monotone (True, then False): bisection on the bit patterns,
  which order like the non-negative floats they encode, so it is exact in 31
  (float32) or 63 (float64) halvings. (A sort of the breakpoints would do the
  same in O(d log d), but XLA's CPU sort costs more than the whole bisection.)"""
  ints, bits = (jnp.int64, 63) if dtype == jnp.float64 else (jnp.int32, 31)
  lo = jnp.zeros(rows, ints)
  hi = jnp.full(rows, jnp.asarray(jnp.inf, dtype).view(ints))

  def halve(_, bounds):
    lo, hi = bounds
    mid = lo + (hi - lo) // 2
    ok = pred(jax.lax.bitcast_convert_type(mid, dtype))
    return jnp.where(ok, mid, lo), jnp.where(ok, hi, mid)
  lo, _ = jax.lax.fori_loop(0, bits, halve, (lo, hi))
  return jax.lax.bitcast_convert_type(lo, dtype)


def _smallest_level(c, a, nu, a_nu):
  """Per row, the smallest lam >= 0 with sum_i a_i min(lam, nu_i) = c; +inf if none.

  c [n] >= 0; a, nu, a_nu = a * nu [n, d] >= 0 (a_nu passed in, as a * nu may
  overflow where the product does not). The function is increasing and linear
  between breakpoints: find the last breakpoint below the level, then solve on
  that segment exactly.
  """
  level = lambda lam: jnp.sum(a * jnp.minimum(lam[:, None], nu), axis=1)
  below = _largest_float_where(lambda lam: level(lam) < c, c.shape[0], c.dtype)
  saturated = nu <= below[:, None]
  done = jnp.sum(jnp.where(saturated, a_nu, 0.0), axis=1)
  slope = jnp.sum(jnp.where(saturated, 0.0, a), axis=1)
  lam = jnp.where(slope > 0, (c - done) / jnp.where(slope > 0, slope, 1.0), 0.0)
  feasible = jnp.sum(a_nu, axis=1) >= c
  return jnp.where(feasible, jnp.maximum(lam, 0.0), jnp.inf)


def _greedy_l1(c, abs_w, room, capacity):
  """Per row, the amounts [n, d] of the fractional knapsack: coordinates in
  decreasing |w_i| move fully until c is met; the last group of equal |w_i|
  shares the remainder in proportion to its rooms (any split of it is optimal)."""
  # w_k: the largest |w| such that moving every coordinate with |w_i| >= w_k meets c.
  reach = lambda tau: jnp.sum(jnp.where(abs_w >= tau[:, None], capacity, 0.0), axis=1) >= c
  w_k = _largest_float_where(reach, c.shape[0], c.dtype)[:, None]
  full = abs_w > w_k
  tied = (abs_w == w_k) & (abs_w > 0)
  remainder = c - jnp.sum(jnp.where(full, capacity, 0.0), axis=1)
  tied_capacity = jnp.sum(jnp.where(tied, capacity, 0.0), axis=1)
  share = jnp.clip(remainder / jnp.where(tied_capacity > 0, tied_capacity, 1.0), 0.0, 1.0)
  amount = jnp.where(full, room, jnp.where(tied, share[:, None] * room, 0.0))
  feasible = jnp.sum(capacity, axis=1) >= c
  return jnp.where(feasible[:, None], amount, room)


def project_onto_hyperplane_box(t: jax.Array, w: jax.Array, b: jax.Array,
                                norm: str) -> jax.Array:
  """The step d* (see the module docstring) for every row.

  Args:
    t: points [n, d] in [0, 1].
    w: hyperplane normals [n, d].
    b: offsets [n]: the hyperplane is <w, z> = b.
    norm: "linf", "l2" or "l1".

  Returns:
    d [n, d] with t + d in [0, 1]^d and <w, t + d> = b where the hyperplane meets
    the box (up to float rounding); d = 0 where w = 0.
  """
  _core.check_choice("norm", norm, _core.NORMS)
  c = jnp.sum(w * t, axis=1) - b
  flip = jnp.where(c >= 0, 1.0, -1.0).astype(t.dtype)
  w = w * flip[:, None]
  c = c * flip
  moving = jnp.abs(w) > _ZERO_W
  abs_w = jnp.where(moving, jnp.abs(w), 0.0)
  room = jnp.where(moving, jnp.where(w > 0, t, 1.0 - t), 0.0)
  direction = -jnp.sign(w) * moving  # lowers <w, .>
  capacity = abs_w * room  # the most coordinate i can lower <w, .>

  if norm == "linf":
    lam = _smallest_level(c, abs_w, room, capacity)
    amount = jnp.minimum(lam[:, None], room)
  elif norm == "l2":
    nu = room / jnp.where(moving, abs_w, 1.0)
    mu = _smallest_level(c, abs_w * abs_w, nu, capacity)
    amount = abs_w * jnp.minimum(mu[:, None], nu)
  else:
    amount = _greedy_l1(c, abs_w, room, capacity)
  return direction * amount
