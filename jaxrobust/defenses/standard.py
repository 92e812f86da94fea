"""Standard (non-robust) training: cross-entropy on clean inputs."""

from __future__ import annotations

from flax import struct

from jaxrobust.defenses._base import accuracy
from jaxrobust.losses import cross_entropy


@struct.dataclass
class Standard:
  """loss = CE(f(x), y)."""

  def __call__(self, train_logits_fn, eval_logits_fn, x, y, *, key):
    del eval_logits_fn, key
    logits = train_logits_fn(x)
    return cross_entropy(logits, y), {"accuracy": accuracy(logits, y)}
