"""FAB and FAB-T: minimally distorted adversarial examples by adaptive boundary steps.

Each iteration linearises the classifier at the current point x1, takes the
closest linearised decision boundary (untargeted: over all classes; FAB-T: the
one to its target), projects both x1 and the original x onto that hyperplane
intersected with the box [0, 1]^d (the minimal L_p step, `_fab_projection`),
and moves to a convex combination of the two projections, biased towards x
(alpha <= alpha_max) and overshooting by eta. Whenever the new point is
misclassified it is kept if smaller than the best so far, and pulled back
towards x by beta.

Semantics follow the AutoAttack reference (fra31/auto-attack, fab_base.py):
only points the model classifies correctly are attacked; run 0 starts at x,
later restarts at a random point of the sphere of radius eps / 2 around x;
FAB-T runs each of its n_target_classes targets (the 2nd, 3rd, ... highest
clean logits) in turn; a run only updates points that no earlier run broke
within eps, and the attack returns, per example, its minimal-norm adversarial
point when that lies within eps, and x otherwise. Points no earlier run broke
take the smaller of their previous best and the new run's minimal point, so the
returned point is the first one found within eps, as in the reference.

References:
  Croce & Hein, "Minimally distorted Adversarial Examples with a Fast Adaptive
  Boundary Attack", ICML 2020; FAB-T: Croce & Hein, "Reliable evaluation of
  adversarial robustness with an ensemble of diverse parameter-free attacks",
  ICML 2020.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust.attacks import _core
from jaxrobust.attacks._base import Attack, static
from jaxrobust.attacks._fab_projection import project_onto_hyperplane_box
from jaxrobust.attacks._select import Kept, keep_first_success


def _expand(per_example, like):
  return per_example.reshape((-1,) + (1,) * (like.ndim - 1))


def _dual_norm(g: jax.Array, norm: str) -> jax.Array:
  """||g||_q along the last axis, q the dual of `norm` (the distance to a hyperplane
  in L_p is |f| / ||w||_q)."""
  if norm == "linf":
    return jnp.sum(jnp.abs(g), axis=-1)
  if norm == "l2":
    return jnp.sqrt(jnp.sum(g * g, axis=-1))
  return jnp.max(jnp.abs(g), axis=-1)


def _restart_point(key: jax.Array, x: jax.Array, eps: jax.Array, norm: str) -> jax.Array:
  """A random point on the `norm` sphere of radius eps / 2 around x, clipped to the
  box: the reference's restart (uniform noise for linf, Gaussian for l2 and l1,
  rescaled)."""
  if norm == "linf":
    noise = jax.random.uniform(key, x.shape, x.dtype, -1.0, 1.0)
  else:
    noise = jax.random.normal(key, x.shape, x.dtype)
  size = _core.norm(noise, norm).reshape((-1,) + (1,) * (x.ndim - 1))
  return _core.clip_to_box(x + 0.5 * eps * noise / jnp.maximum(size, 1e-12))


@struct.dataclass
class FAB(Attack):
  """Untargeted FAB (Linf, L2, L1): the minimal-norm adversarial point, returned
  when within eps (AutoAttack's use).

  Attributes:
    eps: radius the result is restricted to, and twice the radius of the random
      restarts (same units as the pixel space [0, 1]).
    alpha_max: largest weight of the projection of x in the step's combination.
    eta: overshoot of the projections (> 1 to cross the boundary).
    beta: backward step: an adversarial point moves to x + beta * (x1 - x).
    steps: iterations per run (static; AutoAttack uses 100).
    norm: "linf", "l2" or "l1" (static).
    n_restarts: runs per target (static); run 0 starts at x, the others at a
      random point at distance eps / 2.
  """
  NONNEGATIVE = ("eps", "eta")
  PROBABILITIES = ("alpha_max", "beta")
  MINIMUMS = {"n_restarts": 1}

  eps: float = 0.3
  alpha_max: float = 0.1
  eta: float = 1.05
  beta: float = 0.9
  steps: int = static(100)
  norm: str = static("linf")
  n_restarts: int = static(1)

  def key_reason(self):
    return "n_restarts > 1" if self.n_restarts > 1 else None

  def run(self, logits_fn, x, y, key):
    """The minimal adversarial point found where its norm is <= eps, x elsewhere."""
    best, distance = self._search(logits_fn, x, y, key, stop_at=self.eps)
    return jnp.where(_expand(distance <= self.eps, x), best, x)

  def minimal(self, logits_fn: _core.LogitsFn, x: jax.Array, y: jax.Array, *,
              key: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """The smallest adversarial point of every run, whatever its norm.

    Every run updates every point (no early stop at eps; eps only sets the
    restart radius). Arguments as `__call__`, with its checks.

    Returns:
      (x_min [batch, ...], distance [batch]): distance is ||x_min - x|| in
      `norm`; 0 where x is already misclassified (x_min = x), +inf where no run
      found an adversarial point (x_min = x).
    """
    self.check_call(x, y, key, logits_fn)
    return self._search(logits_fn, x, y, key, stop_at=-jnp.inf)

  def _targets(self, logits: jax.Array) -> jax.Array | None:
    """Target classes [runs, batch] (FAB-T), or None for the untargeted attack."""
    del logits
    return None

  def _search(self, logits_fn, x, y, key, stop_at):
    """Runs every (target, restart); returns (best [batch, ...], distance [batch]).

    A point broken within stop_at by an earlier run keeps that point, as the
    reference attacks only the points still robust; the others keep the
    smallest adversarial point over runs.
    """
    logits = logits_fn(x)
    correct = jnp.argmax(logits, axis=1) == y
    targets = self._targets(logits)
    n_runs = (1 if targets is None else targets.shape[0]) * self.n_restarts

    def run(carry):
      i, kept = carry
      start = x
      if self.n_restarts > 1:
        start = jnp.where(i % self.n_restarts > 0,
                          _restart_point(jax.random.fold_in(key, i), x, self.eps, self.norm), x)
      target = None if targets is None else targets[i // self.n_restarts]
      found, found_distance = self._single_run(logits_fn, x, y, start, target)
      found = Kept(found, found_distance <= stop_at, found_distance)
      return i + 1, keep_first_success(kept, found, higher_is_better=False)

    def not_done(carry):
      i, kept = carry
      return (i < n_runs) & jnp.any(correct & ~kept.success)

    distance = jnp.where(correct, jnp.inf, 0.0).astype(x.dtype)
    init = (jnp.asarray(0), Kept(x, distance <= stop_at, distance))
    _, kept = jax.lax.while_loop(not_done, run, init)
    return kept.x, kept.score

  def _linearise(self, logits_fn, x1, y, target):
    """(f [batch, k], grad f [batch, k, d]): the logit differences to y and their
    input gradients, for every class (k = classes; y's own row is excluded later)
    or the target (k = 1)."""
    batch = x1.shape[0]
    rows = jnp.arange(batch)
    if target is None:
      def summed(z):
        logits = logits_fn(z)
        return jnp.sum(logits, axis=0), logits
      # Examples don't interact: the gradient of the batch-summed logit k is
      # every example's gradient of logit k, [classes, batch, ...] in one pass.
      jac, logits = jax.jacrev(summed, has_aux=True)(x1)
      grads = jnp.moveaxis(jac.reshape(jac.shape[0], batch, -1), 0, 1)
      return logits - logits[rows, y][:, None], grads - grads[rows, y][:, None]

    def margin(z):
      logits = logits_fn(z)
      diff = logits[rows, target] - logits[rows, y]
      return jnp.sum(diff), diff
    grad, diff = jax.grad(margin, has_aux=True)(x1)
    return diff[:, None], grad.reshape(batch, 1, -1)

  def _single_run(self, logits_fn, x, y, start, target):
    """One run of `steps` iterations from `start`; returns its smallest
    adversarial point and norm (+inf and x where none)."""
    batch = x.shape[0]
    x0 = x.reshape(batch, -1)
    rows = jnp.arange(batch)
    expand = lambda v: v.reshape((-1,) + (1,) * (x.ndim - 1))

    def step(_, carry):
      x1, best, distance = carry
      f, g = self._linearise(logits_fn, x1, y, target)
      gap = jnp.abs(f) / (1e-12 + _dual_norm(g, self.norm))
      if target is None:
        gap = jnp.where(jnp.arange(f.shape[1])[None] == y[:, None], jnp.inf, gap)
      closest = jnp.argmin(gap, axis=1)
      w = g[rows, closest]
      # The linearised boundary f_l(x1) + <w, z - x1> = 0 as <w, z> = b.
      b = jnp.sum(w * x1.reshape(batch, -1), axis=1) - f[rows, closest]
      d = project_onto_hyperplane_box(
          jnp.concatenate([x1.reshape(batch, -1), x0]), jnp.concatenate([w, w]),
          jnp.concatenate([b, b]), self.norm)
      size = jnp.maximum(_core.norm(d, self.norm), 1e-8)
      d1, d2 = d[:batch].reshape(x.shape), d[batch:].reshape(x.shape)
      # Bias towards x in proportion to how far x1 still is from the boundary.
      alpha = jnp.clip(size[:batch] / (size[:batch] + size[batch:]), 0.0, self.alpha_max)
      alpha = expand(alpha)
      x1 = _core.clip_to_box((x1 + self.eta * d1) * (1 - alpha) + (x + self.eta * d2) * alpha)
      adversarial = jnp.argmax(logits_fn(x1), axis=1) != y
      norm = _core.norm(x1 - x, self.norm)
      better = adversarial & (norm < distance)
      best = jnp.where(expand(better), x1, best)
      distance = jnp.where(better, norm, distance)
      x1 = jnp.where(expand(adversarial), x + self.beta * (x1 - x), x1)
      return x1, best, distance

    init = (start, x, jnp.full((batch,), jnp.inf, x.dtype))
    _, best, distance = jax.lax.fori_loop(0, self.steps, step, init)
    return best, distance


@struct.dataclass
class FABT(FAB):
  """FAB-T: FAB towards each of the n_target_classes most likely wrong classes
  in turn, one boundary per run (one gradient per step instead of one per class).

  `y` is the true label; the targets are the 2nd, 3rd, ... highest logits at x.
  As in the reference, success is misclassification (any class other than y),
  and the result is restricted to eps as in `FAB`.

  Attributes:
    n_target_classes: number of targets (static; AutoAttack uses 9), at most
      classes - 1.
    (the others as in `FAB`)
  """
  MINIMUMS = {**FAB.MINIMUMS, "n_target_classes": 1}

  n_target_classes: int = static(9)

  def _targets(self, logits: jax.Array) -> jax.Array:
    classes = logits.shape[1]
    if self.n_target_classes > classes - 1:
      raise ValueError(f"n_target_classes must be <= classes - 1 = {classes - 1}, got "
                       f"{self.n_target_classes}.")
    ranked = jax.lax.top_k(logits, self.n_target_classes + 1)[1]  # [batch, n + 1]
    return ranked[:, 1:].T
