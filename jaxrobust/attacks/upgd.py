"""Ultimate PGD: PGD with a choice of loss, momentum and EOT gradients.

References:
  Madry et al., "Towards Deep Learning Models Resistant to Adversarial
  Attacks", ICLR 2018; Dong et al., "Boosting Adversarial Attacks with
  Momentum", CVPR 2018 (MI-FGSM); Athalye et al., "Synthesizing Robust
  Adversarial Examples", ICML 2018 (EOT).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust.attacks import _core
from jaxrobust.attacks.eot import eot_gradient
from jaxrobust.losses import get_loss


@struct.dataclass
class UPGD:
  """PGD whose step follows m_t = g_t / ||g_t||_1 + decay * m_{t-1}.

  g_t is the loss gradient, averaged over `eot_iter` draws of the model's
  randomness when `randomized`. With decay = 0 and a deterministic model this
  is PGD, bit for bit (same settings, no random start).

  Attributes:
    eps: radius of the ball.
    step_size: ascent step per iteration.
    decay: momentum factor (0: none; MI-FGSM uses 1).
    steps: number of iterations (static).
    norm: "linf", "l2" or "l1" (static).
    loss: "ce", "dlr" or "cw" (static).
    targeted: if True, `y` are target labels and the loss is descended (static).
    random_start: start from a uniform point of the ball (static).
    eot_iter: gradient samples per step (static); > 1 needs `randomized`.
    randomized: the model is `logits_fn(x, key)`; each step draws eot_iter
      keys from fold_in(key, step) (static).
  """
  eps: float = 8 / 255
  step_size: float = 2 / 255
  decay: float = 0.0
  steps: int = struct.field(pytree_node=False, default=10)
  norm: str = struct.field(pytree_node=False, default="linf")
  loss: str = struct.field(pytree_node=False, default="ce")
  targeted: bool = struct.field(pytree_node=False, default=False)
  random_start: bool = struct.field(pytree_node=False, default=False)
  eot_iter: int = struct.field(pytree_node=False, default=1)
  randomized: bool = struct.field(pytree_node=False, default=False)

  def __post_init__(self):
    _core.check_static_fields(self)
    _core.check_at_least("eot_iter", self.eot_iter, 1)
    if self.eot_iter > 1 and not self.randomized:
      raise ValueError("eot_iter > 1 averages over a randomized model's draws: set "
                       "randomized=True (model logits_fn(x, key)); a deterministic "
                       "model gives the same gradient every draw.")

  def validate(self) -> "UPGD":
    """Checks the numeric hyperparameters when they are concrete; returns self."""
    _core.check_numeric_fields(self, names=("eps", "step_size", "decay"))
    return self

  def __call__(self, logits_fn, x: jax.Array, y: jax.Array, *,
               key: jax.Array | None = None) -> jax.Array:
    """x [batch, ...] in [0, 1], y [batch] -> x_adv [batch, ...].

    Args:
      logits_fn: inputs [batch, ...] -> logits [batch, classes], or
        (inputs, key) -> logits when `randomized`.
      x: clean inputs [batch, ...] in [0, 1].
      y: labels [batch] (targets if `targeted`).
      key: PRNG key, required when `random_start` or `randomized`.
    """
    self.validate()
    _core.check_batch(x, y)
    if (self.random_start or self.randomized) and key is None:
      raise ValueError("UPGD with random_start or randomized needs a PRNG `key`.")
    loss_fn = get_loss(self.loss)
    sign = -1.0 if self.targeted else 1.0
    start_key, noise_key = jax.random.split(key) if key is not None else (None, None)

    def gradient(t, x_adv):
      if self.randomized:
        return eot_gradient(logits_fn, loss_fn, x_adv, y,
                            jax.random.fold_in(noise_key, t), self.eot_iter)
      return _core.input_gradient(logits_fn, loss_fn, x_adv, y)

    def step(t, carry):
      x_adv, momentum = carry
      grad = sign * gradient(t, x_adv)
      l1 = jnp.maximum(_core.norm(grad, "l1"), 1e-12).reshape((-1,) + (1,) * (x.ndim - 1))
      # m_t scaled by ||g_t||_1 points the same way as m_t, and at decay = 0 it
      # is g_t itself, so the step is PGD's exactly.
      scaled = grad + self.decay * l1 * momentum
      x_adv = x_adv + self.step_size * _core.ascent_direction(scaled, self.norm)
      x_adv = _core.to_ball_and_box(x, x_adv, self.eps, self.norm)
      return x_adv, scaled / l1

    x_adv = (_core.random_start(start_key, x, self.eps, self.norm)
             if self.random_start else x)
    return jax.lax.fori_loop(0, self.steps, step, (x_adv, jnp.zeros_like(x)))[0]
