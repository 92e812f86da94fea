"""Patch-wise iterative FGSM.

References:
  Gao et al., "Patch-wise Attack for Fooling Deep Neural Network", ECCV 2020.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrobust.attacks import _core, _transfer
from jaxrobust.attacks._base import Attack, static


def project_kernel(size: int) -> np.ndarray:
  """W_p: a [size, size] average over the neighbours of a pixel (centre weight 0)."""
  kernel = np.full((size, size), 1.0 / (size * size - 1), np.float32)
  kernel[size // 2, size // 2] = 0.0
  return kernel


@struct.dataclass
class PIFGSM(Attack):
  """Amplified sign steps whose overflow beyond eps is pushed onto neighbouring pixels.

  With alpha = eps / steps, the amplified step beta * alpha and gamma = beta * alpha,
  each step (a_0 = 0; Algorithm 1 of the paper):
    s = sign(grad J(x_t))   (sign of MI-FGSM's momentum when decay > 0)
    a = a + beta * alpha * s
    C = max(|a| - eps, 0) * sign(a)               (the cut noise)
    P = gamma * sign(W_p * C);  a = a + P         (W_p: `project_kernel`, per channel)
    x_{t+1} = clip_[0,1](x + Proj_eps(x_t + beta * alpha * s + P - x))
  With beta = 1, |a| never exceeds eps, C = 0 and PI-FGSM is I-FGSM with step
  eps / steps. Linf only; images [batch, height, width, channels].

  Attributes:
    eps: Linf radius (pixel units of [0, 1]).
    amplification: beta, the step amplification factor.
    decay: momentum factor (0 in the paper's PI-FGSM).
    diversity_prob: probability of the diverse-input transform (0 in PI-FGSM; the
      paper's DI-combined versions use 0.7).
    steps: number of iterations (static).
    kernel_size: side of W_p, odd and >= 3 (static).
    resize_rate: smallest relative size of the diverse input, in (0, 1) (static).
    loss: per-example loss name from `jaxrobust.losses` (static).
    targeted: if True, `y` are target labels and the loss is descended (static).
    random_start: start from a uniform point of the ball (static).
  """
  eps: float = 16 / 255
  amplification: float = 10.0
  decay: float = 0.0
  diversity_prob: float = 0.0
  steps: int = static(10)
  kernel_size: int = static(3)
  resize_rate: float = static(0.9)
  loss: str = static("ce")
  targeted: bool = static(False)
  random_start: bool = static(False)

  NONNEGATIVE = ("eps", "amplification", "decay")
  PROBABILITIES = ("diversity_prob",)
  MINIMUMS = {"kernel_size": 3}
  IMAGES = True

  def check_static(self):
    if self.kernel_size % 2 == 0:
      raise ValueError(f"kernel_size must be odd, got {self.kernel_size}.")
    _transfer.check_resize_rate(self.resize_rate)

  def _diverse(self) -> bool:
    return isinstance(self.diversity_prob, jax.core.Tracer) or bool(np.any(self.diversity_prob))

  def key_reason(self):
    return "diversity_prob > 0" if self._diverse() else super().key_reason()

  def run(self, logits_fn, x, y, key):
    loss_fn, sign = self.loss_and_sign()
    x_start, key = _transfer.start(self, x, key)
    diverse = _transfer.diverse_inputs(self) if self._diverse() else None
    gradient = _transfer.loss_gradient(logits_fn, loss_fn, y, sign, diverse)
    kernel = project_kernel(self.kernel_size)
    step = self.amplification * self.eps / self.steps
    gamma = step

    def body(t, state):
      x_adv, a, g = state
      k = None if key is None else jax.random.fold_in(key, t)
      g = self.decay * g + _transfer.normalize(gradient(x_adv, k))
      s = jnp.sign(g)
      a = a + step * s
      cut = jnp.maximum(jnp.abs(a) - self.eps, 0.0) * jnp.sign(a)
      projection = gamma * jnp.sign(_transfer.depthwise_conv(cut, kernel))
      a = a + projection
      x_adv = x_adv + step * s + projection
      x_adv = _core.to_ball_and_box(x, x_adv, self.eps, "linf")
      return x_adv, a, g

    zeros = jnp.zeros_like(x)
    return _core.step_loop(self.steps, body, (x_start, zeros, zeros))[0]
