"""Nesterov iterative FGSM and its scale-invariant version.

References:
  Lin et al., "Nesterov Accelerated Gradient and Scale Invariance for
  Adversarial Attacks", ICLR 2020.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust.attacks._base import static
from jaxrobust.attacks._transfer import MomentumIterative


@struct.dataclass
class NIFGSM(MomentumIterative):
  """MI-FGSM with the gradient taken at the look-ahead x_t + step_size * decay * g_t.

  Attributes: those of `MomentumIterative`.
  """
  NESTEROV = True


@struct.dataclass
class SINIFGSM(NIFGSM):
  """NI-FGSM with the gradient averaged over the scaled copies x_nes / 2^i, i < m.

  The gradient of (1/m) sum_{i<m} loss(logits_fn(z / 2^i)) with respect to z,
  so each copy's gradient carries the chain-rule factor 2^-i, as in the paper's
  code and torchattacks.

  Attributes: those of `MomentumIterative`, and
    m: number of scaled copies (static; m = 1 is NI-FGSM).
  """
  m: int = static(5)

  MINIMUMS = {"m": 1}

  def gradient(self, logits_fn, loss_fn, y, sign):
    def objective(z):
      # A loop over the m scaled copies (not over steps): m is small and static,
      # and m = 1 is then exactly NI-FGSM's objective.
      total = sum(jnp.sum(loss_fn(logits_fn(z / 2.0**i), y)) for i in range(self.m))
      return total / self.m
    return lambda z, key: sign * jax.grad(objective)(z)
