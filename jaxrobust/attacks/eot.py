"""PGD with Expectation over Transformation, for randomized models.

References:
  Athalye et al., "Synthesizing Robust Adversarial Examples", ICML 2018;
  Athalye, Carlini & Wagner, "Obfuscated Gradients Give a False Sense of
  Security", ICML 2018.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust import _checks
from jaxrobust.attacks import _core
from jaxrobust.attacks._base import Attack, static
from jaxrobust.losses import cross_entropy

RandomizedLogitsFn = Callable[[jax.Array, jax.Array], jax.Array]


def eot_gradient(logits_fn: RandomizedLogitsFn, loss_fn, x: jax.Array, y: jax.Array,
                 key: jax.Array, samples: int) -> jax.Array:
  """Mean over `samples` keys of d sum_i loss(logits_fn(x, k)_i, y_i) / dx, [batch, ...].

  The samples run side by side (vmap over keys split from `key`), so memory
  grows linearly with `samples`.
  """
  _checks.check_int_at_least("samples", samples, 1)
  def one(k):
    return _core.input_gradient(lambda z: logits_fn(z, k), loss_fn, x, y)
  return jnp.mean(jax.vmap(one)(jax.random.split(key, samples)), axis=0)


@struct.dataclass
class EOTPGD(Attack):
  """PGD (Linf or L2) on a randomized model whose gradient is averaged over eot_iter draws.

  The model is `logits_fn(x, key)`; step t draws its eot_iter keys from
  fold_in(key, t), so the attack is a pure function of `key`.

  Attributes:
    eps: radius of the ball.
    step_size: the ascent step per iteration (sign step for linf, unit-L2 step for l2).
    steps: number of iterations (static).
    eot_iter: gradient samples per step (static).
    norm: "linf", "l2" or "l1" (static; l2 attacks a Gaussian-smoothed classifier).
    random_start: start from a uniform point of the ball (static).
    targeted: if True, `y` are target labels and the loss is descended (static).
  """
  eps: float = 8 / 255
  step_size: float = 2 / 255
  steps: int = static(10)
  eot_iter: int = static(2)
  norm: str = static("linf")
  random_start: bool = static(True)
  targeted: bool = static(False)

  MINIMUMS = {"eot_iter": 1}
  RANDOMIZED = "the model's noise comes from the key"

  def run(self, logits_fn, x, y, key):
    """logits_fn: (inputs [batch, ...], key) -> logits [batch, classes]."""
    start_key, noise_key = jax.random.split(key)
    sign = -1.0 if self.targeted else 1.0

    def step(t, x_adv):
      grad = sign * eot_gradient(logits_fn, cross_entropy, x_adv, y,
                                 jax.random.fold_in(noise_key, t), self.eot_iter)
      x_adv = x_adv + self.step_size * _core.ascent_direction(grad, self.norm)
      return _core.to_ball_and_box(x, x_adv, self.eps, self.norm)

    x_adv = (_core.random_start(start_key, x, self.eps, self.norm)
             if self.random_start else x)
    return _core.step_loop(self.steps, step, x_adv)
