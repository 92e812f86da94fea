"""Nesterov iterative FGSM and its scale-invariant version.

References:
  Lin et al., "Nesterov Accelerated Gradient and Scale Invariance for
  Adversarial Attacks", ICLR 2020.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust.attacks import _core, _transfer


def _call(attack, gradient_of, logits_fn, x, y, key):
  loss_fn, sign = _transfer.prepare(attack, x, y)
  x_start, key = _transfer.start(attack, x, key)
  return _transfer.momentum_loop(
      gradient_of(logits_fn, loss_fn, y, sign), x, x_start, eps=attack.eps,
      step_size=attack.step_size, decay=attack.decay, steps=attack.steps, key=key,
      nesterov=True)


@struct.dataclass
class NIFGSM:
  """MI-FGSM with the gradient taken at the look-ahead x_t + step_size * decay * g_t.

  Attributes:
    eps: Linf radius (pixel units of [0, 1]).
    step_size: size of each sign step (alpha).
    decay: momentum factor mu.
    steps: number of iterations (static).
    loss: per-example loss name from `jaxrobust.losses` (static).
    targeted: if True, `y` are target labels and the loss is descended (static).
    random_start: start from a uniform point of the ball (static; off in the paper).
  """
  eps: float = 8 / 255
  step_size: float = 2 / 255
  decay: float = 1.0
  steps: int = struct.field(pytree_node=False, default=10)
  loss: str = struct.field(pytree_node=False, default="ce")
  targeted: bool = struct.field(pytree_node=False, default=False)
  random_start: bool = struct.field(pytree_node=False, default=False)

  def __post_init__(self):
    _core.check_static_fields(self)

  def validate(self) -> "NIFGSM":
    """Checks the numeric hyperparameters when they are concrete; returns self."""
    _core.check_numeric_fields(self, names=("eps", "step_size", "decay"))
    return self

  def __call__(self, logits_fn: _core.LogitsFn, x: jax.Array, y: jax.Array, *,
               key: jax.Array | None = None) -> jax.Array:
    """Returns x_adv [batch, ...] with ||x_adv - x||_inf <= eps, inside [0, 1].

    Args:
      logits_fn: inputs [batch, ...] -> logits [batch, classes].
      x: clean inputs [batch, ...] in [0, 1].
      y: labels [batch] (targets if `targeted`).
      key: PRNG key, needed only with `random_start`.
    """
    return _call(self, _transfer.loss_gradient, logits_fn, x, y, key)


def _scale_invariant_gradient(m: int):
  """The gradient of (1/m) sum_{i<m} loss(logits_fn(z / 2^i)) with respect to z
  (so each copy's gradient carries the chain-rule factor 2^-i, as in the paper's
  code and torchattacks)."""
  def gradient_of(logits_fn, loss_fn, y, sign):
    def objective(z):
      # A loop over the m scaled copies (not over steps): m is small and static,
      # and m = 1 is then exactly NI-FGSM's objective.
      total = sum(jnp.sum(loss_fn(logits_fn(z / 2.0**i), y)) for i in range(m))
      return total / m
    return lambda z, key: sign * jax.grad(objective)(z)
  return gradient_of


@struct.dataclass
class SINIFGSM:
  """NI-FGSM with the gradient averaged over the scaled copies x_nes / 2^i, i < m.

  Attributes:
    eps: Linf radius (pixel units of [0, 1]).
    step_size: size of each sign step (alpha).
    decay: momentum factor mu.
    steps: number of iterations (static).
    loss: per-example loss name from `jaxrobust.losses` (static).
    targeted: if True, `y` are target labels and the loss is descended (static).
    random_start: start from a uniform point of the ball (static; off in the paper).
    m: number of scaled copies (static; m = 1 is NI-FGSM).
  """
  eps: float = 8 / 255
  step_size: float = 2 / 255
  decay: float = 1.0
  steps: int = struct.field(pytree_node=False, default=10)
  m: int = struct.field(pytree_node=False, default=5)
  loss: str = struct.field(pytree_node=False, default="ce")
  targeted: bool = struct.field(pytree_node=False, default=False)
  random_start: bool = struct.field(pytree_node=False, default=False)

  def __post_init__(self):
    _core.check_static_fields(self)
    _core.check_at_least("m", self.m, 1)

  def validate(self) -> "SINIFGSM":
    """Checks the numeric hyperparameters when they are concrete; returns self."""
    _core.check_numeric_fields(self, names=("eps", "step_size", "decay"))
    return self

  def __call__(self, logits_fn: _core.LogitsFn, x: jax.Array, y: jax.Array, *,
               key: jax.Array | None = None) -> jax.Array:
    """Returns x_adv [batch, ...] with ||x_adv - x||_inf <= eps, inside [0, 1].

    Args:
      logits_fn: inputs [batch, ...] -> logits [batch, classes].
      x: clean inputs [batch, ...] in [0, 1].
      y: labels [batch] (targets if `targeted`).
      key: PRNG key, needed only with `random_start`.
    """
    return _call(self, _scale_invariant_gradient(self.m), logits_fn, x, y, key)
