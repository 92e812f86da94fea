"""FMN: fast minimum-norm attacks through an adaptive norm constraint (L0, L1, L2, Linf).

References:
  Pintor, Roli, Brendel & Biggio, "Fast Minimum-norm Adversarial Attacks through
  Adaptive Norm Constraints", NeurIPS 2021 (Algorithm 1); checked against
  Foolbox 3.3.4's `attacks/fast_minimum_norm.py` (tests/peers/test_parity_fmn.py).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrobust import _checks
from jaxrobust.attacks import _core
from jaxrobust.attacks._base import Attack, static

FMN_NORMS = ("l2", "linf", "l1", "l0")
# The dual norm of each norm, for the linearised distance to the boundary |l| / ||grad||_*.
_DUAL = {"l2": "l2", "linf": "l1", "l1": "linf"}


def _expand(v: jax.Array, like: jax.Array) -> jax.Array:
  return v.reshape((-1,) + (1,) * (like.ndim - 1))


def fmn_norm(delta: jax.Array, ord: str) -> jax.Array:
  """Per-example norm [batch] of delta [batch, ...]; "l0" counts nonzero entries."""
  _checks.check_choice("norm", ord, FMN_NORMS)
  if ord == "l0":
    return jnp.sum(delta.reshape(delta.shape[0], -1) != 0, axis=1).astype(delta.dtype)
  return _core.norm(delta, ord)


def _project_l0(delta: jax.Array, k: jax.Array) -> jax.Array:
  """Keeps each example's k largest |delta| entries (ties at the k-th value kept)."""
  flat = delta.reshape(delta.shape[0], -1)
  magnitude = jnp.abs(flat)
  ordered = -jnp.sort(-magnitude, axis=1)
  index = jnp.clip(k.astype(jnp.int32) - 1, 0, flat.shape[1] - 1)
  threshold = jnp.take_along_axis(ordered, index[:, None], axis=1)
  keep = (magnitude >= threshold) & (k[:, None] >= 1)
  return jnp.where(keep, flat, 0).reshape(delta.shape)


def _project(delta: jax.Array, eps: jax.Array, ord: str) -> jax.Array:
  if ord == "l0":
    return _project_l0(delta, eps)
  return _core.project(delta, eps, ord)


def _cosine(start, end, i, steps):
  """start -> end by cosine annealing over steps (i = 0 gives start)."""
  return end + (start - end) * (1 + jnp.cos(math.pi * i / steps)) / 2


@struct.dataclass
class FMN(Attack):
  """Fast minimum-norm attack (Pintor et al. 2021, Algorithm 1).

  From delta = 0, each step k: record delta if x + delta is adversarial and
  smaller than the best so far; update the radius eps_k, shrinking it to
  min(eps (1 - gamma_k), ||best||) when adversarial, else growing it to
  eps (1 + gamma_k) once an adversarial point was seen, or before that to
  ||delta|| + |l| / ||grad l||_* (the loss linearised to the boundary; L0 moves
  eps by at least one pixel either way); take a normalised L2 gradient step of
  length alpha_k on the logit margin l = z_y - max_{j != y} z_j; project delta
  onto the eps_k ball of `norm`; clip x + delta to [0, 1]. gamma_k and alpha_k
  are cosine-annealed from their initial to their final values. Returns x plus
  the smallest adversarial delta found; x where none was found.

  Attributes:
    norm: "l2", "linf", "l1" or "l0" (static).
    steps: iterations (static).
    gamma_init, gamma_final: the radius's relative update, cosine-annealed.
    alpha_init, alpha_final: the gradient step length, cosine-annealed;
      alpha_final None: alpha_init / 100 (the paper's and Foolbox's default).
    targeted: if True, y are target labels (static).
  """
  norm: str = static("l2")
  steps: int = static(100)
  gamma_init: float = 0.05
  gamma_final: float = 0.001
  alpha_init: float = 1.0
  alpha_final: float | None = None
  targeted: bool = static(False)

  NONNEGATIVE = ("gamma_init", "gamma_final", "alpha_init")
  MINIMUMS = {"steps": 1}
  NORMS = FMN_NORMS

  def check_static(self):
    _checks.check_choice("norm", self.norm, FMN_NORMS)

  def check_numeric(self):
    for name in ("gamma_init", "gamma_final"):
      _checks.check_number(name, getattr(self, name), low=0, high=1)
    if self.alpha_final is not None:
      _checks.check_number("alpha_final", self.alpha_final, low=0)

  def run(self, logits_fn, x, y, key):
    """Deterministic (starts at x)."""
    ord_ = self.norm
    alpha_final = self.alpha_init / 100 if self.alpha_final is None else self.alpha_final
    batch = x.shape[0]
    sign = -1.0 if self.targeted else 1.0

    def margin(z):
      """Per-example loss to minimise (< 0 means adversarial) and the logits."""
      logits = logits_fn(z)
      is_y = jax.nn.one_hot(y, logits.shape[-1], dtype=bool)
      z_y = jnp.sum(jnp.where(is_y, logits, 0), axis=1)
      z_other = jnp.max(jnp.where(is_y, -jnp.inf, logits), axis=1)
      return sign * (z_y - z_other), logits

    # One forward and backward pass: the summed margin's gradient and each example's margin.
    def summed(z):
      loss, logits = margin(z)
      return jnp.sum(loss), (loss, logits)

    value_and_grad = jax.value_and_grad(summed, has_aux=True)

    if ord_ == "l0":
      worst = jnp.full((batch,), float(np.prod(x.shape[1:])), x.dtype)
    else:
      worst = _core.norm(jnp.maximum(x, 1 - x), ord_)

    def step(i, carry):
      delta, best_delta, best_norm, eps, found = carry
      x_adv = x + delta
      (_, (loss, logits)), grad = value_and_grad(x_adv)
      pred = logits.argmax(-1)
      adversarial = (pred == y) if self.targeted else (pred != y)
      size = fmn_norm(delta, ord_)
      better = adversarial & (size <= best_norm)
      found = found | adversarial
      best_norm = jnp.where(better, size, best_norm)
      best_delta = jnp.where(_expand(better, x), delta, best_delta)
      gamma = _cosine(self.gamma_init, self.gamma_final, i, self.steps)
      alpha = _cosine(self.alpha_init, alpha_final, i, self.steps)
      if ord_ == "l0":
        # Integer radii: at least one pixel per step either way.
        shrink = jnp.minimum(jnp.minimum(eps - 1, jnp.floor(eps * (1 - gamma))), best_norm)
        grow = jnp.maximum(eps + 1, jnp.floor(eps * (1 + gamma)))
        eps = jnp.maximum(jnp.where(adversarial, shrink, grow), 1)
      else:
        dual = _core.norm(grad, _DUAL[ord_])
        to_boundary = jnp.abs(loss) / jnp.maximum(dual, 1e-12)
        eps = jnp.where(adversarial, jnp.minimum(eps * (1 - gamma), best_norm),
                        jnp.where(found, eps * (1 + gamma), size + to_boundary))
      eps = jnp.minimum(eps, worst)
      # Descend the margin along its L2-normalised gradient (as the paper and Foolbox
      # do for every norm), then into the eps ball and the box.
      direction = grad / _expand(jnp.maximum(_core.norm(grad, "l2"), 1e-12), grad)
      delta = _project(delta - alpha * direction, eps, ord_)
      delta = _core.clip_to_box(x + delta) - x
      return delta, best_delta, best_norm, eps, found

    zeros = jnp.zeros_like(x)
    if ord_ == "l0":
      eps0 = jnp.ones((batch,), x.dtype)  # Foolbox: max(1, ||delta_0||_0) with delta_0 = 0
    else:
      eps0 = jnp.full((batch,), jnp.inf, x.dtype)
    init = (zeros, zeros, worst, eps0, jnp.zeros((batch,), bool))
    _, best_delta, _, _, _ = jax.lax.fori_loop(0, self.steps, step, init)
    return _core.clip_to_box(x + best_delta)


def minimal_radii(logits_fn, x: jax.Array, x_adv: jax.Array, y: jax.Array, norm: str,
                  *, targeted: bool = False) -> jax.Array:
  """||x_adv - x|| [batch] in `norm` where x_adv is adversarial (misclassified, or
  the target when targeted), inf elsewhere: each example's minimal radius found.
  A point misclassified as it stands (x_adv = x) has radius 0."""
  _checks.check_choice("norm", norm, FMN_NORMS)
  if jnp.shape(x) != jnp.shape(x_adv):
    raise ValueError(f"x and x_adv must have one shape, got {jnp.shape(x)} and "
                     f"{jnp.shape(x_adv)}.")
  pred = logits_fn(x_adv).argmax(-1)
  adversarial = (pred == y) if targeted else (pred != y)
  return jnp.where(adversarial, fmn_norm(x_adv - x, norm), jnp.inf)
