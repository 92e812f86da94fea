"""TRADES: clean cross-entropy plus beta times KL(f(x) || f(x_adv)).

References:
  Zhang et al., "Theoretically Principled Trade-off between Robustness and
  Accuracy", ICML 2019.
"""

from __future__ import annotations

import jax
from flax import struct

from jaxrobust.attacks.tpgd import TPGD
from jaxrobust.defenses._base import accuracy, check_nonnegative_fields
from jaxrobust.losses import cross_entropy, kl_divergence


@struct.dataclass
class TRADES:
  """loss = CE(f(x), y) + beta * KL(softmax f(x) || softmax f(x_adv)).

  x_adv is TRADES' inner attack (`TPGD`: sign ascent on the same KL from
  x + 0.001 N(0, I)) against the model in eval mode. Both KL arguments are
  differentiated, as in the authors' code.

  Attributes:
    eps, step_size: Linf radius and sign step of the inner attack.
    steps: inner attack iterations (static).
    beta: weight of the KL (robustness) term; 1/lambda in the paper.
  """
  eps: float = 0.3
  step_size: float = 0.01
  beta: float = 6.0
  steps: int = struct.field(pytree_node=False, default=10)

  def __post_init__(self):
    check_nonnegative_fields(self, ("eps", "step_size", "beta"))

  @property
  def attack(self) -> TPGD:
    return TPGD(eps=self.eps, step_size=self.step_size, steps=self.steps)

  def adversarial_inputs(self, eval_logits_fn, x, y, *, key):
    """x_adv [batch, ...], held fixed (Danskin)."""
    return jax.lax.stop_gradient(self.attack(eval_logits_fn, x, y, key=key))

  def loss_at(self, train_logits_fn, x, x_adv, y):
    """(loss [batch], metrics) at given adversarial inputs."""
    logits_adv = train_logits_fn(x_adv)
    logits = train_logits_fn(x)  # last call: its BatchNorm statistics are kept
    kl = kl_divergence(logits, logits_adv)
    return cross_entropy(logits, y) + self.beta * kl, {
        "accuracy": accuracy(logits, y), "adv_accuracy": accuracy(logits_adv, y),
        "kl": kl}

  def __call__(self, train_logits_fn, eval_logits_fn, x, y, *, key):
    return self.loss_at(train_logits_fn, x,
                        self.adversarial_inputs(eval_logits_fn, x, y, key=key), y)
