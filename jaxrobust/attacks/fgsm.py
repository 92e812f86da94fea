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
from jaxrobust.losses import cross_entropy, get_loss


def _step(logits_fn, loss_fn, x, x_adv, y, eps, step_size, norm, targeted):
  """One projected ascent step from x_adv, as in PGD (same order of operations)."""
  sign = -1.0 if targeted else 1.0
  grad = sign * _core.input_gradient(logits_fn, loss_fn, x_adv, y)
  x_adv = x_adv + step_size * _core.ascent_direction(grad, norm)
  return _core.to_ball_and_box(x, x_adv, eps, norm)


def _needs_key(name, key):
  if key is None:
    raise ValueError(f"{name} starts from a random point and needs a PRNG `key`.")


@struct.dataclass
class FGSM:
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
  norm: str = struct.field(pytree_node=False, default="linf")
  loss: str = struct.field(pytree_node=False, default="ce")
  targeted: bool = struct.field(pytree_node=False, default=False)

  def __post_init__(self):
    _core.check_static_fields(self)

  def validate(self) -> "FGSM":
    """Checks the numeric hyperparameters when they are concrete; returns self."""
    _core.check_numeric_fields(self, names=("eps",))
    return self

  def __call__(self, logits_fn: _core.LogitsFn, x: jax.Array, y: jax.Array, *,
               key: jax.Array | None = None) -> jax.Array:
    """x [batch, ...] in [0, 1], y [batch] -> x_adv [batch, ...]; `key` is unused."""
    del key  # deterministic
    self.validate()
    _core.check_batch(x, y)
    # The projection is a no-op up to rounding; it keeps x_adv provably in the
    # ball and makes FGSM equal to one PGD step of size eps bit for bit.
    return _step(logits_fn, get_loss(self.loss), x, x, y, self.eps, self.eps,
                 self.norm, self.targeted)


@struct.dataclass
class FFGSM:
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
  targeted: bool = struct.field(pytree_node=False, default=False)

  def validate(self) -> "FFGSM":
    """Checks the numeric hyperparameters when they are concrete; returns self."""
    _core.check_numeric_fields(self, names=("eps", "step_size"))
    return self

  def __call__(self, logits_fn: _core.LogitsFn, x: jax.Array, y: jax.Array, *,
               key: jax.Array | None = None) -> jax.Array:
    """x [batch, ...] in [0, 1], y [batch] -> x_adv [batch, ...]; needs `key`."""
    self.validate()
    _core.check_batch(x, y)
    _needs_key("FFGSM", key)
    start = _core.random_start(key, x, self.eps, "linf")
    return _step(logits_fn, cross_entropy, x, start, y, self.eps, self.step_size,
                 "linf", self.targeted)


@struct.dataclass
class RFGSM:
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
  steps: int = struct.field(pytree_node=False, default=1)
  targeted: bool = struct.field(pytree_node=False, default=False)

  def __post_init__(self):
    _core.check_static_fields(self)

  def validate(self) -> "RFGSM":
    """Checks the numeric hyperparameters when they are concrete; returns self."""
    _core.check_numeric_fields(self, names=("eps", "step_size", "alpha"))
    return self

  def __call__(self, logits_fn: _core.LogitsFn, x: jax.Array, y: jax.Array, *,
               key: jax.Array | None = None) -> jax.Array:
    """x [batch, ...] in [0, 1], y [batch] -> x_adv [batch, ...]; needs `key`."""
    self.validate()
    _core.check_batch(x, y)
    _needs_key("RFGSM", key)
    # sign(N(0, I)) is a Rademacher draw.
    noise = jax.random.rademacher(key, x.shape, x.dtype)
    start = _core.clip_to_box(x + _core.project(self.alpha * noise, self.eps, "linf"))

    def step(_, x_adv):
      return _step(logits_fn, cross_entropy, x, x_adv, y, self.eps, self.step_size,
                   "linf", self.targeted)

    return jax.lax.fori_loop(0, self.steps, step, start)
