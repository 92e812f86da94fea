"""PGD adversarial training: minimise the loss at the PGD point.

References:
  Madry et al., "Towards Deep Learning Models Resistant to Adversarial
  Attacks", ICLR 2018.
"""

from __future__ import annotations

from flax import struct

from jaxrobust.attacks import PGD
from jaxrobust.defenses._base import AdversarialDefense, accuracy
from jaxrobust.losses import cross_entropy


@struct.dataclass
class PGDAT(AdversarialDefense):
  """loss = CE(f(x_adv), y), x_adv = attack(x) against the model in eval mode.

  Attributes:
    attack: the inner attack (Madry et al.: PGD from a random start); default
      PGD(eps=0.3, step_size=0.01, steps=10), Linf.
  """
  attack: PGD = struct.field(default_factory=PGD)

  def loss_at(self, train_logits_fn, x, x_adv, y):
    del x
    logits = train_logits_fn(x_adv)
    return cross_entropy(logits, y), {"accuracy": accuracy(logits, y)}
