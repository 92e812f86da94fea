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
from jaxrobust.attacks._base import Attack, static
from jaxrobust.attacks.eot import eot_gradient


@struct.dataclass
class UPGD(Attack):
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
  steps: int = static(10)
  norm: str = static("linf")
  loss: str = static("ce")
  targeted: bool = static(False)
  random_start: bool = static(False)
  eot_iter: int = static(1)
  randomized: bool = static(False)

  NONNEGATIVE = ("eps", "step_size", "decay")
  MINIMUMS = {"eot_iter": 1}

  def check_static(self):
    if self.eot_iter > 1 and not self.randomized:
      raise ValueError("eot_iter > 1 averages over a randomized model's draws: set "
                       "randomized=True (model logits_fn(x, key)); a deterministic "
                       "model gives the same gradient every draw.")

  def key_reason(self):
    return "randomized=True" if self.randomized else super().key_reason()

  def run(self, logits_fn, x, y, key):
    """logits_fn: (inputs, key) -> logits when `randomized`."""
    loss_fn, sign = self.loss_and_sign()
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
    return _core.step_loop(self.steps, step, (x_adv, jnp.zeros_like(x)))[0]
