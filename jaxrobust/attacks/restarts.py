"""Random restarts: the per-example worst case over several runs of an attack."""

from __future__ import annotations

import jax
from flax import struct

from jaxrobust.attacks._base import Attack, static
from jaxrobust.attacks._select import Kept, keep_first_success
from jaxrobust.losses import get_loss


@struct.dataclass
class Restarts(Attack):
  """Runs `attack` with `restarts` keys (by vmap) and keeps, per example, the
  first run that succeeds (misclassifies, or hits the target when targeted),
  else the one with the highest attack loss.

  Attributes:
    attack: any attack with a random start (its numeric fields stay leaves,
      so a `Restarts` can be swept over eps like the attack itself; it checks
      them itself on every call).
    restarts: number of runs (static); memory grows linearly with it.
  """
  MINIMUMS = {"restarts": 1}
  RANDOMIZED = "each restart draws its own key"

  attack: object
  restarts: int = static(1)

  def run(self, logits_fn, x, y, key):
    keys = jax.random.split(key, self.restarts)
    candidates = jax.vmap(lambda k: self.attack(logits_fn, x, y, key=k))(keys)
    targeted = getattr(self.attack, "targeted", False)
    loss_fn = get_loss(getattr(self.attack, "loss", "ce"))

    def score(x_adv):
      logits = logits_fn(x_adv)
      hit = logits.argmax(-1) == y
      loss = -loss_fn(logits, y) if targeted else loss_fn(logits, y)
      return hit if targeted else ~hit, loss

    success, loss = jax.vmap(score)(candidates)
    kept = Kept(candidates[0], success[0], loss[0])
    for r in range(1, self.restarts):
      kept = keep_first_success(kept, Kept(candidates[r], success[r], loss[r]))
    return kept.x
