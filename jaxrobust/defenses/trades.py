"""TRADES: clean cross-entropy plus beta times KL(f(x) || f(x_adv)).

References:
  Zhang et al., "Theoretically Principled Trade-off between Robustness and
  Accuracy", ICML 2019.
"""

from __future__ import annotations

import functools

from flax import struct

from jaxrobust.attacks.tpgd import TPGD
from jaxrobust.defenses._base import AdversarialDefense, accuracy
from jaxrobust.losses import cross_entropy, kl_divergence


@struct.dataclass
class TRADES(AdversarialDefense):
  """loss = CE(f(x), y) + beta * KL(softmax f(x) || softmax f(x_adv)).

  x_adv comes from the inner attack against the model in eval mode; TRADES'
  own is `TPGD` (sign ascent on the same KL from x + 0.001 N(0, I)). Both KL
  arguments are differentiated, as in the authors' code.

  Attributes:
    attack: the inner attack; default TPGD(eps=0.3, step_size=0.01, steps=10).
    beta: weight of the KL (robustness) term; 1/lambda in the paper.
  """
  attack: TPGD = struct.field(
      default_factory=functools.partial(TPGD, eps=0.3, step_size=0.01))
  beta: float = 6.0

  NONNEGATIVE = ("beta",)

  def loss_at(self, train_logits_fn, x, x_adv, y):
    logits_adv = train_logits_fn(x_adv)
    logits = train_logits_fn(x)  # last call: its BatchNorm statistics are kept
    kl = kl_divergence(logits, logits_adv)
    return cross_entropy(logits, y) + self.beta * kl, {
        "accuracy": accuracy(logits, y), "adv_accuracy": accuracy(logits_adv, y),
        "kl": kl}
