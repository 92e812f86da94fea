"""Logit squeezing: cross-entropy plus a penalty on the logits' norm.

References:
  Kannan, Kurakin & Goodfellow, "Adversarial Logit Pairing", arXiv:1803.06373
  (2018), logit squeezing; compared in Kanai et al., "Constraining Logits by
  Bounded Function for Adversarial Robustness", IJCNN 2021.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import struct

from jaxrobust.attacks.pgd import PGD
from jaxrobust.defenses._base import AdversarialDefense, accuracy
from jaxrobust.losses import cross_entropy


@struct.dataclass
class LogitSqueeze(AdversarialDefense):
  """loss = CE(f(x'), y) + squeeze * ||f(x')||_2, x' = attack(x) (x when attack is None).

  Attributes:
    attack: PGD-AT's inner attack, default PGD(eps=0.3, step_size=0.01,
      steps=10); None trains on clean inputs (logit squeezing without
      adversarial training).
    squeeze: weight of the logit-norm penalty.
  """
  attack: Any = struct.field(default_factory=PGD)
  squeeze: float = 0.05

  NONNEGATIVE = ("squeeze",)
  CLEAN_WITHOUT_ATTACK = True

  def loss_at(self, train_logits_fn, x, x_adv, y):
    del x
    logits = train_logits_fn(x_adv)
    # All-zero logits (e.g. a ReLU layer that is off, at zero-bias init) have a
    # NaN norm gradient; they get the subgradient 0 instead.
    zero = jnp.all(logits == 0, axis=-1, keepdims=True)
    norm = jnp.where(zero[:, 0], 0.0, jnp.linalg.norm(jnp.where(zero, 1.0, logits), axis=-1))
    return cross_entropy(logits, y) + self.squeeze * norm, {
        "accuracy": accuracy(logits, y), "logit_norm": norm}
