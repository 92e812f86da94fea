"""Projected gradient descent on the loss, in an Linf or L2 ball.

References:
  Madry et al., "Towards Deep Learning Models Resistant to Adversarial
  Attacks", ICLR 2018.
"""

from __future__ import annotations

from flax import struct

from jaxrobust.attacks import _core
from jaxrobust.attacks._base import Attack, static


@struct.dataclass
class PGD(Attack):
  """x_{t+1} = Proj_{B(x, eps)}(x_t + step_size * dir(grad loss)), clipped to [0, 1].

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
  steps: int = static(10)
  norm: str = static("linf")
  loss: str = static("ce")
  random_start: bool = static(True)
  targeted: bool = static(False)

  def run(self, logits_fn, x, y, key):
    loss_fn, sign = self.loss_and_sign()

    def step(_, x_adv):
      grad = sign * _core.input_gradient(logits_fn, loss_fn, x_adv, y)
      x_adv = x_adv + self.step_size * _core.ascent_direction(grad, self.norm)
      return _core.to_ball_and_box(x, x_adv, self.eps, self.norm)

    x_adv = (_core.random_start(key, x, self.eps, self.norm)
             if self.random_start else x)
    return _core.step_loop(self.steps, step, x_adv)


def madry_pgd(eps: float = 0.3, steps: int = 10, step_size: float | None = None,
              norm: str = "linf", loss: str = "ce", random_start: bool = True,
              targeted: bool = False) -> PGD:
  """PGD with Madry et al.'s step 2.5 * eps / steps unless `step_size` is given
  (the step that lets `steps` iterations cross the ball and back)."""
  _core.check_at_least("steps", steps, 1)
  if step_size is None:
    step_size = 2.5 * eps / steps
  return PGD(eps=eps, step_size=step_size, steps=steps, norm=norm, loss=loss,
             random_start=random_start, targeted=targeted)
