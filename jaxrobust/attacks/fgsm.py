"""Single-step gradient-sign attacks: FGSM, FFGSM (random start) and R+FGSM.

References:
  Goodfellow et al., "Explaining and Harnessing Adversarial Examples", ICLR 2015.
  Wong et al., "Fast is better than free: Revisiting adversarial training",
  ICLR 2020.
  Tramer et al., "Ensemble Adversarial Training: Attacks and Defenses", ICLR 2018.
"""

from __future__ import annotations

import jax
from flax import struct

from jaxrobust.attacks import _core
from jaxrobust.attacks._base import Attack, static
from jaxrobust.losses import cross_entropy, get_loss


def _step(logits_fn, loss_fn, x, x_adv, y, eps, step_size, norm, targeted):
  """One projected ascent step from x_adv, as in PGD (same order of operations)."""
  sign = -1.0 if targeted else 1.0
  grad = sign * _core.input_gradient(logits_fn, loss_fn, x_adv, y)
  x_adv = x_adv + step_size * _core.ascent_direction(grad, norm)
  return _core.to_ball_and_box(x, x_adv, eps, norm)


@struct.dataclass
class FGSM(Attack):
  """x_adv = clip(x + eps * dir(grad loss)): one step to the edge of the ball.

  With norm="linf" (the default) dir is sign, the fast gradient sign method;
  "l2" and "l1" give the fast gradient method in those norms.

  Attributes:
    eps: radius of the ball, also the step.
    norm: "linf", "l2" or "l1" (static).
    loss: per-example loss name from `jaxrobust.losses` (static).
    targeted: if True, `y` are target labels and the loss is descended (static).
  """
  eps: float = 8 / 255
  norm: str = static("linf")
  loss: str = static("ce")
  targeted: bool = static(False)

  NONNEGATIVE = ("eps",)

  def run(self, logits_fn, x, y, key):
    """Deterministic."""
    # The projection is a no-op up to rounding; it keeps x_adv provably in the
    # ball and makes FGSM equal to one PGD step of size eps bit for bit.
    return _step(logits_fn, get_loss(self.loss), x, x, y, self.eps, self.eps,
                 self.norm, self.targeted)


@struct.dataclass
class FFGSM(Attack):
  """FGSM from a uniform random point of the Linf ball, step step_size, projected.

  The "fast" adversarial training attack of Wong et al.: with
  step_size = 1.25 eps it avoids FGSM training's catastrophic overfitting.

  Attributes:
    eps: radius of the Linf ball.
    step_size: the sign step (torchattacks: 10/255 at eps 8/255).
    targeted: if True, `y` are target labels and the loss is descended (static).
  """
  eps: float = 8 / 255
  step_size: float = 10 / 255
  targeted: bool = static(False)

  RANDOMIZED = "it starts from a random point"

  def run(self, logits_fn, x, y, key):
    start = _core.random_start(key, x, self.eps, "linf")
    return _step(logits_fn, cross_entropy, x, start, y, self.eps, self.step_size,
                 "linf", self.targeted)


@struct.dataclass
class RFGSM(Attack):
  """R+FGSM: a random sign step of size alpha, then `steps` projected sign steps.

  The paper's attack is one step of size eps - alpha:
  `RFGSM(eps, alpha, step_size=eps - alpha, steps=1)` (the defaults, at
  alpha = eps / 2). torchattacks' RFGSM(eps, alpha, steps) uses alpha for both
  the random step and every gradient step: `RFGSM(eps, alpha, step_size=alpha,
  steps=steps)`. The start is projected onto the Linf ball too, so alpha > eps
  stays in the ball.

  Attributes:
    eps: radius of the Linf ball.
    step_size: the sign step on the gradient.
    alpha: size of the random sign step x + alpha * sign(N(0, I)).
    steps: number of gradient steps (static).
    targeted: if True, `y` are target labels and the loss is descended (static).
  """
  eps: float = 8 / 255
  step_size: float = 4 / 255
  alpha: float = 4 / 255
  steps: int = static(1)
  targeted: bool = static(False)

  NONNEGATIVE = ("eps", "step_size", "alpha")
  RANDOMIZED = "it starts from a random sign step"

  def run(self, logits_fn, x, y, key):
    # sign(N(0, I)) is a Rademacher draw.
    noise = jax.random.rademacher(key, x.shape, x.dtype)
    start = _core.clip_to_box(x + _core.project(self.alpha * noise, self.eps, "linf"))

    def step(_, x_adv):
      return _step(logits_fn, cross_entropy, x, x_adv, y, self.eps, self.step_size,
                   "linf", self.targeted)

    return _core.step_loop(self.steps, step, start)
