"""Random restarts: the per-example worst case over several runs of an attack."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust.attacks import _core
from jaxrobust.losses import get_loss


@struct.dataclass
class Restarts:
  """Runs `attack` with `restarts` keys (by vmap) and keeps, per example, the
  first run that succeeds (misclassifies, or hits the target when targeted),
  else the one with the highest attack loss.

  Attributes:
    attack: any attack with a random start (its numeric fields stay leaves,
      so a `Restarts` can be swept over eps like the attack itself).
    restarts: number of runs (static); memory grows linearly with it.
  """
  attack: object
  restarts: int = struct.field(pytree_node=False, default=1)

  def __post_init__(self):
    _core.check_at_least("restarts", self.restarts, 1)

  def __call__(self, logits_fn, x, y, *, key):
    """x [batch, ...] in [0, 1], y [batch] -> x_adv [batch, ...]."""
    keys = jax.random.split(key, self.restarts)
    candidates = jax.vmap(lambda k: self.attack(logits_fn, x, y, key=k))(keys)
    targeted = getattr(self.attack, "targeted", False)
    loss_fn = get_loss(getattr(self.attack, "loss", "ce"))

    def score(x_adv):
      logits = logits_fn(x_adv)
      hit = logits.argmax(-1) == y
      success = hit if targeted else ~hit
      loss = -loss_fn(logits, y) if targeted else loss_fn(logits, y)
      return jnp.where(success, jnp.inf, loss)

    best = jnp.argmax(jax.vmap(score)(candidates), axis=0)  # [batch]
    return jnp.take_along_axis(
        candidates, best.reshape((1, -1) + (1,) * (x.ndim - 1)), axis=0)[0]
