"""MART: misclassification-aware adversarial training.

References:
  Wang et al., "Improving Adversarial Robustness Requires Revisiting
  Misclassified Examples", ICLR 2020.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust.attacks.pgd import PGD
from jaxrobust.defenses._base import AdversarialDefense, accuracy
from jaxrobust.losses import kl_divergence

_TINY = 1e-12  # keeps log(1 - p) finite when p rounds to 1


def boosted_cross_entropy(logits: jax.Array, y: jax.Array) -> jax.Array:
  """BCE = -log p_y - log(1 - max_{k != y} p_k), [batch] (MART's Eq. 6)."""
  log_p = jax.nn.log_softmax(logits)
  one_hot = jax.nn.one_hot(y, logits.shape[-1], dtype=bool)
  true = jnp.sum(jnp.where(one_hot, log_p, 0.0), axis=-1)
  other = jnp.max(jnp.where(one_hot, -jnp.inf, jnp.exp(log_p)), axis=-1)
  return -true - jnp.log(1.0 - other + _TINY)


@struct.dataclass
class MART(AdversarialDefense):
  """loss = BCE(f(x_adv), y) + beta * KL(f(x) || f(x_adv)) * (1 - p_y(x)).

  x_adv = the inner attack (the paper's: PGD on cross-entropy) against the
  model in eval mode. The weight 1 - p_y(x) is differentiated, as in the
  authors' code.

  Attributes:
    attack: the inner attack; default PGD(eps=0.3, step_size=0.01, steps=10), Linf.
    beta: weight of the misclassification-aware KL term.
  """
  attack: PGD = struct.field(default_factory=PGD)
  beta: float = 6.0

  NONNEGATIVE = ("beta",)

  def loss_at(self, train_logits_fn, x, x_adv, y):
    logits_adv = train_logits_fn(x_adv)
    logits = train_logits_fn(x)
    p_true = jnp.take_along_axis(jax.nn.softmax(logits), y[:, None], axis=-1)[:, 0]
    kl = kl_divergence(logits, logits_adv)
    loss = boosted_cross_entropy(logits_adv, y) + self.beta * kl * (1.0 - p_true)
    return loss, {"accuracy": accuracy(logits, y), "adv_accuracy": accuracy(logits_adv, y)}
