"""PGD adversarial training: minimise the loss at the PGD point.

References:
  Madry et al., "Towards Deep Learning Models Resistant to Adversarial
  Attacks", ICLR 2018.
"""

from __future__ import annotations

import jax
from flax import struct

from jaxrobust.attacks import PGD
from jaxrobust.defenses._base import accuracy
from jaxrobust.losses import cross_entropy


@struct.dataclass
class PGDAT:
  """loss = CE(f(x_adv), y), x_adv = PGD(x) against the model in eval mode.

  Attributes mirror `jaxrobust.attacks.PGD` (eps, step_size numeric; steps,
  norm static).
  """
  eps: float = 0.3
  step_size: float = 0.01
  steps: int = struct.field(pytree_node=False, default=10)
  norm: str = struct.field(pytree_node=False, default="linf")

  @property
  def attack(self) -> PGD:
    return PGD(eps=self.eps, step_size=self.step_size, steps=self.steps,
               norm=self.norm, random_start=True)

  def __call__(self, train_logits_fn, eval_logits_fn, x, y, *, key):
    # Danskin: the gradient w.r.t. the weights is taken at a fixed x_adv.
    x_adv = jax.lax.stop_gradient(self.attack(eval_logits_fn, x, y, key=key))
    logits = train_logits_fn(x_adv)
    return cross_entropy(logits, y), {"accuracy": accuracy(logits, y)}
