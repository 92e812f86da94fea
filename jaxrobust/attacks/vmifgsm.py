"""Variance-tuned MI-FGSM and NI-FGSM.

References:
  Wang & He, "Enhancing the Transferability of Adversarial Attacks through
  Variance Tuning", CVPR 2021.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust.attacks._base import static
from jaxrobust.attacks._transfer import MomentumIterative


def _neighbour_gradient(gradient, x, n: int, radius):
  """The mean gradient at n points x_t + r_i, r_i ~ U[-radius, radius]^d (vmap over keys)."""
  def mean_gradient(x_adv, key):
    def at(k):
      r = jax.random.uniform(k, x.shape, x.dtype, -radius, radius)
      return gradient(x_adv + r, None)
    return jnp.mean(jax.vmap(at)(jax.random.split(key, n)), axis=0)
  return mean_gradient


@struct.dataclass
class VMIFGSM(MomentumIterative):
  """MI-FGSM whose gradient is corrected by the variance of the previous step:

    g_hat = grad J(x_t);  g_{t+1} = decay * g_t + (g_hat + v_t) / ||g_hat + v_t||_1
    v_{t+1} = (1/n) sum_i grad J(x_t + r_i) - g_hat,  r_i ~ U[-beta eps, beta eps]^d

  Attributes: those of `MomentumIterative`, and
    beta: neighbourhood radius as a multiple of eps.
    n: neighbours sampled per step (static; 0 turns variance tuning off).
  """
  beta: float = 1.5
  n: int = static(20)

  NONNEGATIVE = MomentumIterative.NONNEGATIVE + ("beta",)
  MINIMUMS = {"n": 0}

  def key_reason(self):
    return "it samples neighbours (n > 0)" if self.n > 0 else super().key_reason()

  def neighbour_gradient(self, gradient, x):
    # n = 0 samples: no variance term (v = 0), i.e. MI-FGSM / NI-FGSM.
    if self.n == 0:
      return None
    return _neighbour_gradient(gradient, x, self.n, self.beta * self.eps)


@struct.dataclass
class VNIFGSM(VMIFGSM):
  """VMI-FGSM with NI-FGSM's look-ahead: g_hat = grad J(x_t + step_size * decay * g_t);
  the neighbours are still sampled around x_t (as torchattacks).

  Attributes: as `VMIFGSM`.
  """
  NESTEROV = True
