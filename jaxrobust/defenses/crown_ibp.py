"""CROWN-IBP training: the verified loss on a beta-mix of CROWN-IBP and IBP bounds.

References:
  Zhang et al., "Towards Stable and Efficient Training of Verifiably Robust
  Neural Networks", ICLR 2020, Eq. 7 (m = beta m_IBP + (1 - beta) m_CROWN-IBP,
  beta ramped from 1 to its final value while eps ramps up) and Sec. 4.
"""

from __future__ import annotations

from typing import ClassVar

from flax import struct

from jaxrobust import _checks
from jaxrobust.certify import bounds
from jaxrobust.defenses.ibp import IBP, ramp


@struct.dataclass
class CROWNIBP(IBP):
  """IBP's loss (same eps/kappa schedule) with the margin lower bound
  beta_t m_IBP + (1 - beta_t) m_CROWN-IBP, beta_t going 1 -> beta over the ramp.

  Attributes (beyond IBP's):
    beta: the IBP weight at the end of the ramp (Zhang et al.: 0, pure CROWN-IBP).
  Defaults: kappa 1 -> 0 (Zhang et al.'s MNIST setting), beta 1 -> 0.
  """
  kappa: float = 0.0
  beta: float = 0.0

  METHOD: ClassVar[str] = "crown_ibp"

  def __post_init__(self):
    super().__post_init__()
    _checks.check_number("CROWNIBP.beta", self.beta, low=0, high=1)

  def schedule(self):
    values = super().schedule()
    t = ramp(self.step, self.warmup_steps, self.ramp_steps)
    return {**values, "beta": 1.0 + (self.beta - 1.0) * t}

  def margin_lower(self, net, x, y, values):
    ibp = bounds.margin_lower(net, x, y, values["eps"], norm=self.norm, method="ibp")
    crown = bounds.margin_lower(net, x, y, values["eps"], norm=self.norm, method="crown_ibp")
    return values["beta"] * ibp + (1.0 - values["beta"]) * crown
