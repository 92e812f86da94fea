"""DANN: domain-adversarial training through a gradient reversal layer.

loss = CE(C(F(x_s)), y_s) + weight * BCE(D(R_lambda(F(x))), domain), with
lambda_p = 2 / (1 + exp(-gamma p)) - 1 rising with progress p. The
discriminator D minimises the domain loss; through the reversal layer the
features F maximise it, so one minimisation plays the min-max game and
drives P_S(f) and P_T(f) together.

Reference: Ganin et al., "Domain-Adversarial Training of Neural Networks",
JMLR 17 (2016), Eq. 9-10 (the saddle point), Sec. 3.2 (gradient reversal),
Sec. 5.2.2 (the schedule).
"""

from __future__ import annotations

from typing import ClassVar

from flax import struct

from jaxrobust.adaptation._base import (NonNegativeFields, domain_accuracy, domain_loss,
                                        forward, source_cross_entropy)
from jaxrobust.adaptation.gradient_reversal import dann_coefficient, reverse_gradient


@struct.dataclass
class DANN(NonNegativeFields):
  """weight: the domain loss's trade-off (the schedule's ceiling); gamma: the
  schedule's steepness (Ganin et al.: 10)."""
  weight: float = 1.0
  gamma: float = 10.0
  NONNEGATIVE: ClassVar[tuple[str, ...]] = ("weight", "gamma")

  def discriminator_dim(self, feature_dim: int, num_classes: int) -> int:
    return feature_dim

  def loss(self, net, disc, params, xs, ys, xt, *, progress, key):
    del key
    fs, logits_s, ft, _ = forward(net, params, xs, xt)
    ce = source_cross_entropy(logits_s, ys)
    coeff = self.weight * dann_coefficient(progress, self.gamma)
    hs, ht = reverse_gradient(fs, coeff), reverse_gradient(ft, coeff)
    transfer = domain_loss(disc, params["disc"], hs, ht)
    # The reversal layer scales the features' gradient by coeff; the
    # discriminator itself trains at full rate (Ganin et al.'s Algorithm 1).
    return ce + transfer, {"source_ce": ce, "transfer": transfer, "coeff": coeff,
                           "domain_accuracy": domain_accuracy(disc, params["disc"], hs, ht)}
