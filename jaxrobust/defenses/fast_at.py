"""Fast adversarial training (FGSM from a random start) with the
catastrophic-overfitting fix of Kim, Lee & Lee, on by default as in their code.

The fix's defaults are the authors' (github.com/Harry24k/catastrophic-overfitting:
train.py's `--c 3` checkpoints, defenses/trainers/co_adv_trainer.py's FGSM from
a uniform random start, step alpha = 10/255 at eps = 8/255, i.e. 1.25 eps);
co_checkpoints = 0 turns the fix off, leaving Wong et al.'s FGSM-RS.

References:
  Wong, Rice & Kolter, "Fast is better than free: Revisiting adversarial
  training", ICLR 2020.
  Kim, Lee & Lee, "Understanding Catastrophic Overfitting in Single-step
  Adversarial Training", AAAI 2021.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust import _checks, attacks
from jaxrobust.defenses._base import accuracy
from jaxrobust.losses import cross_entropy


def fgsm_point(logits_fn, x, y, eps, step_ratio, random_start, key):
  """One sign step of size step_ratio * eps from x (+ uniform start), projected to
  the Linf ball and [0, 1]: x_adv [batch, ...]."""
  return fgsm_point_and_start_logits(logits_fn, x, y, eps, step_ratio, random_start,
                                     key)[0]


def fgsm_point_and_start_logits(logits_fn, x, y, eps, step_ratio, random_start, key):
  """fgsm_point, and the logits [batch, classes] at its starting point (the
  forward pass the gradient needs anyway)."""
  start = attacks.random_start(key, x, eps, "linf") if random_start else x

  def loss(z):
    logits = logits_fn(z)
    return jnp.sum(cross_entropy(logits, y)), logits

  grad, start_logits = jax.grad(loss, has_aux=True)(start)
  x_adv = start + step_ratio * eps * attacks.ascent_direction(grad, "linf")
  return attacks.to_ball_and_box(x, x_adv, eps, "linf"), start_logits


def smallest_misclassified(logits_fn, x, x_adv, y, checkpoints: int, start_wrong=None):
  """Kim, Lee & Lee's fix: of x + (k/c) d, k = 1..c (d = x_adv - x), the point with
  the smallest k that logits_fn misclassifies; x_adv itself (k = c, not evaluated)
  when none of k = 1..c-1 is. Examples with `start_wrong` (bool [batch]: already
  misclassified where the step started) get x itself, k = 0.

  Returns (points [batch, ...], k [batch] int32 in 0..c).
  """
  c = checkpoints
  batch = x.shape[0]
  delta = x_adv - x
  ks = jnp.arange(1, c, dtype=jnp.int32)  # k = c needs no check: it is the fallback
  if c > 1:
    fractions = (ks.astype(x.dtype) / c).reshape((-1,) + (1,) * x.ndim)
    points = x[None] + fractions * delta[None]  # [c - 1, batch, ...], k-major
    logits = logits_fn(points.reshape((-1,) + x.shape[1:])).reshape((c - 1, batch, -1))
    wrong = logits.argmax(-1) != y[None]  # [c - 1, batch]
    # argmax of a bool picks the first True; rows with none fall back to k = c.
    k = jnp.where(wrong.any(0), jnp.argmax(wrong, axis=0) + 1, c).astype(jnp.int32)
  else:
    k = jnp.full((batch,), c, jnp.int32)
  if start_wrong is not None:
    k = jnp.where(start_wrong, 0, k)
  fraction = (k.astype(x.dtype) / c).reshape((-1,) + (1,) * (x.ndim - 1))
  return x + fraction * delta, k


@struct.dataclass
class FastAT:
  """loss = CE(f(x_adv), y), x_adv = FGSM step step_ratio * eps from a uniform start.

  With `co_checkpoints` = c > 0 (default 3, the authors'), each example is
  trained on the smallest misclassified point of x + (k/c)(x_adv - x), k = 1..c
  (the full step if none is misclassified), which is meant to prevent
  catastrophic overfitting (Kim, Lee & Lee); c = 0 is plain FGSM-RS (Wong et al.).

  Attributes:
    eps: Linf radius.
    step_ratio: the FGSM step as a multiple of eps (Wong et al.: 1.25).
    random_start: start from a uniform point of the ball (static); False is
      plain FGSM training (Goodfellow et al.).
    co_checkpoints: c, points checked along the step (static); default 3, the
      authors' default; 0 turns the fix off (plain FGSM-RS).

  The step is this defense's own rather than an attack object (as PGDAT's is):
  the fix reuses the logits at the step's start, computed by the forward pass
  that gives the gradient, and Wong et al. state the step as a multiple of eps.
  """
  eps: float = 0.3
  step_ratio: float = 1.25
  random_start: bool = struct.field(pytree_node=False, default=True)
  co_checkpoints: int = struct.field(pytree_node=False, default=3)

  def __post_init__(self):
    _checks.check_int_at_least("co_checkpoints", self.co_checkpoints, 0)
    _checks.check_number("eps", self.eps, low=0)
    _checks.check_number("step_ratio", self.step_ratio, low=0)

  def adversarial_inputs(self, eval_logits_fn, x, y, *, key):
    x_adv, start_logits = fgsm_point_and_start_logits(
        eval_logits_fn, x, y, self.eps, self.step_ratio, self.random_start, key)
    if self.co_checkpoints:
      # As in the authors' code (github.com/Harry24k/catastrophic-overfitting):
      # an example the model already gets wrong at the FGSM start is trained clean.
      start_wrong = start_logits.argmax(-1) != y
      x_adv, _ = smallest_misclassified(eval_logits_fn, x, x_adv, y, self.co_checkpoints,
                                        start_wrong)
    return jax.lax.stop_gradient(x_adv)

  def __call__(self, train_logits_fn, eval_logits_fn, x, y, *, key):
    logits = train_logits_fn(self.adversarial_inputs(eval_logits_fn, x, y, key=key))
    return cross_entropy(logits, y), {"accuracy": accuracy(logits, y)}
