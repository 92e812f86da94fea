"""Projected gradient descent on the loss, in an Linf or L2 ball.

References:
  Madry et al., "Towards Deep Learning Models Resistant to Adversarial
  Attacks", ICLR 2018.
"""

from __future__ import annotations

import jax
from flax import struct

from jaxrobust.attacks import _core
from jaxrobust.losses import get_loss


@struct.dataclass
class PGD:
  """x_{t+1} = Proj_{B(x, eps)}(x_t + step_size * dir(grad loss)), clipped to [0, 1].

  Numeric hyperparameters are pytree leaves (traceable, vmappable for sweeps);
  structural ones are static.

  Attributes:
    eps: radius of the ball (same units as the pixel space [0, 1]).
    step_size: ascent step per iteration.
    steps: number of iterations (static).
    norm: "linf", "l2" or "l1" (static; l1 takes the sparse step of Tramer &
      Boneh, 2019).
    loss: per-example loss name from `jaxrobust.losses` (static).
    random_start: start from a uniform point of the ball (static).
    targeted: if True, `y` are target labels and the loss is descended (static).
  """
  eps: float = 0.3
  step_size: float = 0.01
  steps: int = struct.field(pytree_node=False, default=10)
  norm: str = struct.field(pytree_node=False, default="linf")
  loss: str = struct.field(pytree_node=False, default="ce")
  random_start: bool = struct.field(pytree_node=False, default=True)
  targeted: bool = struct.field(pytree_node=False, default=False)

  def __post_init__(self):
    _core.check_static_fields(self)

  def validate(self) -> "PGD":
    """Checks the numeric hyperparameters when they are concrete; returns self."""
    _core.check_numeric_fields(self)
    return self

  def __call__(self, logits_fn: _core.LogitsFn, x: jax.Array, y: jax.Array, *,
               key: jax.Array | None = None) -> jax.Array:
    """Returns x_adv [batch, ...] with ||x_adv - x|| <= eps, inside [0, 1].

    Args:
      logits_fn: inputs [batch, ...] -> logits [batch, classes].
      x: clean inputs [batch, ...] in [0, 1].
      y: labels [batch] (targets if `targeted`).
      key: PRNG key, required when `random_start`.
    """
    self.validate()
    _core.check_batch(x, y)
    if self.random_start and key is None:
      raise ValueError("PGD with random_start=True needs a PRNG `key`.")
    loss_fn = get_loss(self.loss)
    sign = -1.0 if self.targeted else 1.0

    def step(_, x_adv):
      grad = sign * _core.input_gradient(logits_fn, loss_fn, x_adv, y)
      x_adv = x_adv + self.step_size * _core.ascent_direction(grad, self.norm)
      return _core.to_ball_and_box(x, x_adv, self.eps, self.norm)

    x_adv = (_core.random_start(key, x, self.eps, self.norm)
             if self.random_start else x)
    return jax.lax.fori_loop(0, self.steps, step, x_adv)
