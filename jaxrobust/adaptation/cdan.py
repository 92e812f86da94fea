"""CDAN and CDAN+E: a domain discriminator conditioned on the classifier's predictions.

loss = CE(C(F(x_s)), y_s) + BCE_w(D(R_lambda(T(f, g))), domain), with T the
multilinear map of features f and class probabilities g (randomized when wide,
`conditioning`), lambda the DANN schedule, and w = 1 + exp(-H(g)) per example
for CDAN+E (uniform weights for CDAN), normalized within each domain.
Aligning the joint P(f, g) rather than P(f) lets the discriminator see the
multimodal (per-class) structure that marginal alignment ignores.

The reversal layer sits on T(f, g) with g held fixed (no gradient through g:
the authors' released code, thuml/CDAN, detaches the softmax output it feeds
to T), and the entropy weights are constants of the objective, as in thuml's
Transfer-Learning-Library (the original release instead lets a reversed
gradient through the entropy; not reproduced here).

Reference: Long, Cao, Wang & Jordan, "Conditional Adversarial Domain
Adaptation", NeurIPS 2018, Eq. 4-8.
"""

from __future__ import annotations

from typing import ClassVar

import jax
from flax import struct

from jaxrobust import _checks
from jaxrobust.adaptation._base import (NonNegativeFields, domain_accuracy, domain_loss,
                                        forward, source_cross_entropy)
from jaxrobust.adaptation.conditioning import condition, conditioning_dim, entropy_weights
from jaxrobust.adaptation.gradient_reversal import dann_coefficient, reverse_gradient

# The randomized map's matrices are fixed for a run: drawn from this constant,
# not from the step key (a new map each step would be a moving target).
_MAP_SEED = 0


@struct.dataclass
class CDAN(NonNegativeFields):
  """weight, gamma: as DANN's; entropy: CDAN+E's weights; randomized_dim: the width of
  the randomized multilinear map (0: exact f (x) g up to 4096 wide, as Long et al.)."""
  weight: float = 1.0
  gamma: float = 10.0
  entropy: bool = struct.field(pytree_node=False, default=False)
  randomized_dim: int = struct.field(pytree_node=False, default=0)
  NONNEGATIVE: ClassVar[tuple[str, ...]] = ("weight", "gamma")

  def __post_init__(self):
    super().__post_init__()
    _checks.check_int_at_least("CDAN.randomized_dim", self.randomized_dim, 0)

  def discriminator_dim(self, feature_dim: int, num_classes: int) -> int:
    return conditioning_dim(feature_dim, num_classes, self.randomized_dim)

  def loss(self, net, disc, params, xs, ys, xt, *, progress, key):
    del key
    fs, logits_s, ft, logits_t = forward(net, params, xs, xt)
    ce = source_cross_entropy(logits_s, ys)
    gs = jax.lax.stop_gradient(jax.nn.softmax(logits_s))
    gt = jax.lax.stop_gradient(jax.nn.softmax(logits_t))
    map_key = jax.random.key(_MAP_SEED)
    coeff = self.weight * dann_coefficient(progress, self.gamma)
    hs = reverse_gradient(condition(fs, gs, map_key, self.randomized_dim), coeff)
    ht = reverse_gradient(condition(ft, gt, map_key, self.randomized_dim), coeff)
    if self.entropy:
      transfer = domain_loss(disc, params["disc"], hs, ht, entropy_weights(gs),
                             entropy_weights(gt))
    else:
      transfer = domain_loss(disc, params["disc"], hs, ht)
    return ce + transfer, {"source_ce": ce, "transfer": transfer, "coeff": coeff,
                           "domain_accuracy": domain_accuracy(disc, params["disc"], hs, ht)}
