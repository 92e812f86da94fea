"""The basic iterative method (I-FGSM): PGD in the Linf ball without a random start.

References:
  Kurakin et al., "Adversarial examples in the physical world", ICLR 2017
  workshop.
"""

from __future__ import annotations

from flax import struct

from jaxrobust.attacks._base import Attack, static
from jaxrobust.attacks.pgd import PGD


@struct.dataclass
class BIM(Attack):
  """x_{t+1} = clip_{x, eps}(x_t + step_size * sign(grad CE)), from x_0 = x.

  Each step is clipped to the eps-ball and to [0, 1], which is PGD with
  norm="linf", loss="ce" and no random start; BIM delegates to it.

  Attributes:
    eps: radius of the Linf ball.
    step_size: the sign step per iteration.
    steps: number of iterations (static). Kurakin et al. use
      min(255 eps + 4, 1.25 * 255 eps) for eps in [0, 1] pixel units;
      here it is always given explicitly.
    targeted: if True, `y` are target labels and the loss is descended (static).
  """
  eps: float = 8 / 255
  step_size: float = 1 / 255
  steps: int = static(10)
  targeted: bool = static(False)

  def run(self, logits_fn, x, y, key):
    """Deterministic."""
    pgd = PGD(eps=self.eps, step_size=self.step_size, steps=self.steps, norm="linf",
              loss="ce", random_start=False, targeted=self.targeted)
    return pgd.run(logits_fn, x, y, None)
