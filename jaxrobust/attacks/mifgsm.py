"""Momentum iterative FGSM.

References:
  Dong et al., "Boosting Adversarial Attacks with Momentum", CVPR 2018.
"""

from __future__ import annotations

from flax import struct

from jaxrobust.attacks._transfer import MomentumIterative


@struct.dataclass
class MIFGSM(MomentumIterative):
  """g_{t+1} = decay * g_t + grad / ||grad||_1; x_{t+1} = Proj(x_t + step_size * sign(g_{t+1})).

  Linf only. With decay = 0 it is the basic iterative method (PGD without a
  random start). Attributes: those of `MomentumIterative` (decay 1.0 as in the paper).
  """
