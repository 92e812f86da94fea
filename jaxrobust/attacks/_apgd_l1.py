"""l1-APGD: the exact projection onto the L1 ball and the box, the sparse step
with an adaptive k, its step-size schedule, and the larger radii first.

References:
  Croce & Hein, "Mind the box: l1-APGD for sparse adversarial attacks on image
  classifiers", ICML 2021 (Sec. 3 and 4: projection, sparse step, schedule).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxrobust.attacks import _core
from jaxrobust.attacks._apgd_run import Best, RunResult, expand, objective


def project_l1_box(delta: jax.Array, x: jax.Array, eps) -> jax.Array:
  """Euclidean projection of each delta onto {d : ||d||_1 <= eps, 0 <= x + d <= 1}.

  Exact, one sort per example. With a multiplier lam >= 0 of the L1 constraint
  the problem separates per coordinate, and because the box around x contains
  0, the box-constrained soft threshold solves each one:
  d_i = sign(delta_i) min(max(|delta_i| - lam, 0), room_i), room_i the box's
  room from x_i toward sign(delta_i). lam = 0 if that point already lies in
  the ball; else g(lam) = sum_i min(max(|delta_i| - lam, 0), room_i) = eps,
  g piecewise linear and non-increasing with breakpoints |delta_i| - room_i and
  |delta_i|: the sorted breakpoints locate the segment of the solution, whose
  active coordinates then give lam in closed form.

  Args:
    delta: perturbations [batch, ...] (x + delta is the point projected).
    x: centres [batch, ...] in [0, 1].
    eps: radius, scalar or [batch].

  Returns:
    The projected perturbation [batch, ...].

  References: Croce & Hein, "Mind the box", ICML 2021, Sec. 3.2 (the
  projection onto the L1 ball intersected with the box).
  """
  batch = delta.shape[0]
  d, c = delta.reshape(batch, -1), x.reshape(batch, -1)
  eps = jnp.broadcast_to(jnp.asarray(eps, d.dtype), (batch,))
  a, sign = jnp.abs(d), jnp.sign(d)
  room = jnp.maximum(jnp.where(d > 0, 1 - c, c), 0)
  boxed = jnp.minimum(a, room)  # lam = 0: the projection onto the box alone
  lo, hi = jnp.maximum(a - room, 0), a  # each term falls from room_i to 0 on [lo_i, hi_i]
  n = d.shape[1]
  breaks, change = jax.lax.sort(
      (jnp.concatenate([lo, hi], 1),
       jnp.concatenate([-jnp.ones_like(lo), jnp.ones_like(hi)], 1)), dimension=1, num_keys=1)
  slope = jnp.cumsum(change, 1)  # g' right of each breakpoint (minus the active count)
  g = jnp.sum(boxed, 1, keepdims=True) + jnp.concatenate(
      [jnp.zeros((batch, 1), d.dtype),
       jnp.cumsum(slope[:, :-1] * jnp.diff(breaks, axis=1), 1)], 1)
  # g at the sorted breakpoints is non-increasing (sums of non-positive terms);
  # the solution lies in the segment where g crosses eps.
  k = jnp.clip(jnp.sum(g > eps[:, None], 1), 1, 2 * n - 1)[:, None]
  left = jnp.take_along_axis(breaks, k - 1, 1)
  right = jnp.take_along_axis(breaks, k, 1)
  mid = (left + right) / 2
  active = (mid > lo) & (mid < hi)
  capped = mid <= lo
  n_active = jnp.sum(active, 1, keepdims=True)
  lam = (jnp.sum(jnp.where(capped, room, 0), 1, keepdims=True)
         + jnp.sum(jnp.where(active, a, 0), 1, keepdims=True) - eps[:, None])
  lam = jnp.where(n_active > 0, lam / jnp.maximum(n_active, 1), mid)
  shrunk = jnp.minimum(jnp.maximum(a - jnp.maximum(lam, 0), 0), room)
  inside = jnp.sum(boxed, 1, keepdims=True) <= eps[:, None]
  out = sign * jnp.where(inside, boxed, shrunk)
  # Radius 0 gives exactly 0 (rounding of lam could leave ulps).
  return jnp.where(eps[:, None] > 0, out, 0).reshape(delta.shape)


def start(key, x, eps):
  """The reference's L1 start: standard Gaussian noise projected onto the L1
  ball and the box (sparse)."""
  return _core.clip_to_box(x + project_l1_box(jax.random.normal(key, x.shape, x.dtype), x, eps))


def _l0(delta: jax.Array) -> jax.Array:
  """Nonzero coordinates per example [batch], as floats."""
  return jnp.sum(delta.reshape(delta.shape[0], -1) != 0, 1).astype(delta.dtype)


def sparse_direction(grad: jax.Array, topk: jax.Array) -> jax.Array:
  """The l1-APGD step direction: sign(grad) on the coordinates whose |grad| is
  at least the one at rank floor((1 - topk) d) of the ascending order (about
  the top topk * d of them), divided by their count (unit L1 norm).

  Args:
    grad: [batch, ...]; topk: the fraction of coordinates to move, [batch].

  References: Croce & Hein, ICML 2021, Sec. 4 (sparse step with adaptive k).
  """
  g = grad.reshape(grad.shape[0], -1)
  n = g.shape[1]
  rank = jnp.clip(jnp.floor((1 - topk) * n), 0, n - 1).astype(jnp.int32)[:, None]
  threshold = jnp.take_along_axis(jnp.sort(jnp.abs(g), 1), rank, 1)
  step = jnp.sign(g) * (jnp.abs(g) >= threshold)
  # A zero gradient selects only zeros: a zero step, never 0/0.
  step = step / (jnp.sum(jnp.abs(step), 1, keepdims=True) + 1e-10)
  return step.reshape(grad.shape)


def l1_check_interval(steps: int) -> int:
  """Iterations between the checkpoints of l1-APGD: 4% of the budget, at least 1."""
  return max(int(0.04 * steps), 1)


class _State(NamedTuple):
  """The loop state of an l1-APGD run, per example."""
  x: jax.Array  # current iterate [batch, ...]
  grad: jax.Array  # gradient at x
  step: jax.Array  # step size [batch]
  topk: jax.Array  # fraction of coordinates moved [batch]
  sparsity_last: jax.Array  # nonzeros of the best point at the last checkpoint [batch]
  best: Best


def run_l1(loss_fn, logits_fn, x, y, x0, *, eps, steps: int, from_init: bool = False,
           eot_iter: int = 1, key: jax.Array | None = None) -> RunResult:
  """One l1-APGD run from x0, all per example, under one fori_loop.

  Each iteration moves the top `topk` fraction of the gradient's coordinates
  by step / count in the sign of the gradient and projects onto the L1 ball
  and the box (no momentum in L1). The step starts at eps. Every
  `l1_check_interval(steps)` iterations, with s the sparsity (nonzeros) of the
  best point so far: where s fell below 95% of its value at the previous
  checkpoint, the step is reset to eps and the run restarts from the best
  point; elsewhere the step is divided by 1.5, never below eps / 10; topk
  becomes s / (1.5 d). It starts at 0.2, or at the start's sparsity / (1.5 d)
  when `from_init` (a start handed down by a larger radius).

  Args: as `_apgd_run.run` (norm is L1; no rho, no momentum).

  References: Croce & Hein, ICML 2021, Sec. 4 and Algorithm 2; the constants
  (0.2, 1.5, 0.95, eps / 10, checkpoints every 4%) are the reference's.
  """
  evaluate = objective(loss_fn, logits_fn, eot_iter, key)
  batch, n = x.shape[0], math.prod(x.shape[1:])
  eps_b = jnp.broadcast_to(jnp.asarray(eps, x.dtype), (batch,))
  interval = l1_check_interval(steps)
  loss0, logits0, grad0 = evaluate(x0, 0)
  if from_init:
    sparsity0 = _l0(x0 - x)
    topk0 = sparsity0 / n / 1.5
  else:
    topk0 = jnp.full((batch,), 0.2, x.dtype)
    sparsity0 = jnp.full((batch,), n, x.dtype)
  init = _State(x=x0, grad=grad0, step=eps_b, topk=topk0, sparsity_last=sparsity0,
                best=Best.first(x0, y, loss0, logits0, grad0))

  def body(i, s):
    moved = s.x + expand(s.step, x) * sparse_direction(s.grad, s.topk)
    x_new = _core.clip_to_box(x + project_l1_box(moved - x, x, eps))
    loss, logits, grad = evaluate(x_new, i + 1)
    s = s._replace(x=x_new, grad=grad, best=s.best.update(x_new, y, loss, logits, grad))

    def at_checkpoint(s):
      sparsity = _l0(s.best.x - x)
      # As the reference: a ratio (0 / 0 and s / 0 compare False).
      sparser = sparsity / s.sparsity_last < 0.95
      step = jnp.clip(jnp.where(sparser, eps_b, s.step / 1.5), eps_b / 10, eps_b)
      h = expand(sparser, x)
      return s._replace(step=step, topk=sparsity / n / 1.5, sparsity_last=sparsity,
                        x=jnp.where(h, s.best.x, s.x), grad=jnp.where(h, s.best.grad, s.grad))

    return jax.lax.cond((i + 1) % interval == 0, at_checkpoint, lambda s: s, s)

  s = jax.lax.fori_loop(0, steps, body, init)
  return s.best.result(s.step)


def largereps_schedule(steps: int) -> tuple[tuple[float, ...], tuple[int, ...]]:
  """Radius multipliers (3, 2, 1) and their iterations (30%, 30%, the rest).

  As the reference: ceil(0.3 * steps) twice, then what is left (30, 30, 40
  of 100; 3, 3, 4 of 10).
  """
  first = math.ceil(0.3 * steps)
  iters = (first, first, steps - 2 * first)
  if min(iters) < 1:
    raise ValueError(f"use_largereps needs steps with 3 non-empty stages; steps={steps} "
                     f"gives {iters} (use steps = 3 or steps >= 5).")
  return (3.0, 2.0, 1.0), iters


def run_l1_largereps(loss_fn, logits_fn, x, y, start_key, *, eps, steps: int,
                     eot_iter: int = 1, key: jax.Array | None = None) -> RunResult:
  """l1-APGD at radii 3 eps, 2 eps, then eps (`largereps_schedule`), each stage
  starting from the best point of the one before, projected onto its ball.

  The first stage starts from x + Gaussian noise projected onto the 3 eps ball
  and the box. Only the last stage's results count (the others lie outside the
  eps ball).

  References: Croce & Hein, ICML 2021, Sec. 4 ("larger radii first", as the
  reference's `decr_eps_pgd`).
  """
  radii, iters = largereps_schedule(steps)
  x_start = x + project_l1_box(jax.random.normal(start_key, x.shape, x.dtype), x, radii[0] * eps)
  for stage, (scale, n_iter) in enumerate(zip(radii, iters)):
    stage_eps = scale * jnp.asarray(eps, x.dtype)
    x_start = _core.clip_to_box(x + project_l1_box(x_start - x, x, stage_eps))
    res = run_l1(loss_fn, logits_fn, x, y, x_start, eps=stage_eps, steps=n_iter, from_init=True,
                 eot_iter=eot_iter, key=None if key is None else jax.random.fold_in(key, stage))
    x_start = res.x_best
  return res
