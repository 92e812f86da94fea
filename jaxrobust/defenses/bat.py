"""Bridged adversarial training: KL terms along the segment from x to x_adv.

References:
  Kim, Lee, Lee & Lee, "Bridged Adversarial Training", arXiv:2108.11135 (2021);
  Neural Networks 167 (2023).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust import _checks
from jaxrobust.attacks.tpgd import TPGD
from jaxrobust.defenses._base import AdversarialDefense, accuracy
from jaxrobust.losses import cross_entropy, kl_divergence


@struct.dataclass
class BAT(AdversarialDefense):
  """loss = CE(f(x), y) + beta * sum_{k=1..m} KL(f(x + (k-1)/m d) || f(x + k/m d)).

  d = x_adv - x from the inner attack (eval mode, held fixed). With m = 1 the
  sum is TRADES' KL(f(x) || f(x_adv)). Both arguments of every KL are
  differentiated, as in TRADES (the reference point is not detached).

  Attributes:
    attack: the inner attack; default TRADES' TPGD(eps=0.3, step_size=0.01,
      steps=10); a PGD on cross-entropy is the paper's other choice.
    beta: weight of the bridged KL sum.
    bridges: m, the number of segments (static).
  """
  attack: Any = struct.field(
      default_factory=functools.partial(TPGD, eps=0.3, step_size=0.01))
  beta: float = 6.0
  bridges: int = struct.field(pytree_node=False, default=5)

  NONNEGATIVE = ("beta",)

  def __post_init__(self):
    _checks.check_int_at_least("bridges", self.bridges, 1)
    super().__post_init__()

  def loss_at(self, train_logits_fn, x, x_adv, y):
    m = self.bridges
    delta = x_adv - x
    # All m + 1 points in one forward pass: [(m + 1) * batch, ...].
    ts = jnp.arange(m + 1, dtype=x.dtype) / m
    points = x[None] + ts.reshape((-1,) + (1,) * x.ndim) * delta[None]
    logits = train_logits_fn(points.reshape((-1,) + x.shape[1:]))
    logits = logits.reshape((m + 1, x.shape[0], -1))
    kl = jnp.sum(jax.vmap(kl_divergence)(logits[:-1], logits[1:]), axis=0)
    return cross_entropy(logits[0], y) + self.beta * kl, {
        "accuracy": accuracy(logits[0], y), "adv_accuracy": accuracy(logits[-1], y),
        "kl": kl}
