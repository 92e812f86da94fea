"""Logit squeezing: cross-entropy plus a penalty on the logits' norm.

References:
  Kannan, Kurakin & Goodfellow, "Adversarial Logit Pairing", arXiv:1803.06373
  (2018), logit squeezing; compared in Kanai et al., "Constraining Logits by
  Bounded Function for Adversarial Robustness", IJCNN 2021.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust.attacks import _core
from jaxrobust.attacks.pgd import PGD
from jaxrobust.defenses._base import accuracy
from jaxrobust.losses import cross_entropy


@struct.dataclass
class LogitSqueeze:
  """loss = CE(f(x'), y) + squeeze * ||f(x')||_2, x' = PGD(x) (or x when steps = 0).

  Attributes:
    eps, step_size, steps: PGD-AT's attack; steps = 0 trains on clean inputs
      (steps static).
    squeeze: weight of the logit-norm penalty.
  """
  eps: float = 0.3
  step_size: float = 0.01
  squeeze: float = 0.05
  steps: int = struct.field(pytree_node=False, default=10)

  def __post_init__(self):
    _core.check_at_least("steps", self.steps, 0)
    _core.check_nonnegative("eps", self.eps)
    _core.check_nonnegative("step_size", self.step_size)
    _core.check_nonnegative("squeeze", self.squeeze)

  def __call__(self, train_logits_fn, eval_logits_fn, x, y, *, key):
    if self.steps:
      attack = PGD(eps=self.eps, step_size=self.step_size, steps=self.steps)
      x = jax.lax.stop_gradient(attack(eval_logits_fn, x, y, key=key))
    logits = train_logits_fn(x)
    norm = jnp.linalg.norm(logits, axis=-1)
    return cross_entropy(logits, y) + self.squeeze * norm, {
        "accuracy": accuracy(logits, y), "logit_norm": norm}
