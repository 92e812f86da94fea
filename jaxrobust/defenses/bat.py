"""Bridged adversarial training: KL terms along the segment from x to x_adv.

Follows the authors' trainer (github.com/Harry24k/adversarial-defenses-pytorch,
torchdefenses/trainer/empirical_defenses/bat.py): the inner attack is PGD on
cross-entropy by default (their `loss='ce'`; `'kl'` is TRADES' TPGD), and the
clean point and each bridge point are separate forward passes of the model in
training mode, so a BatchNorm layer normalises each with its own batch
statistics.

References:
  Kim, Lee, Lee & Lee, "Bridged Adversarial Training", arXiv:2108.11135 (2021);
  Neural Networks 167 (2023).
"""

from __future__ import annotations

from typing import Any

from flax import struct

from jaxrobust import _checks
from jaxrobust.attacks.pgd import PGD
from jaxrobust.defenses._base import AdversarialDefense, accuracy
from jaxrobust.losses import cross_entropy, kl_divergence


@struct.dataclass
class BAT(AdversarialDefense):
  """loss = CE(f(x), y) + beta * sum_{k=1..m} KL(f(x + (k-1)/m d) || f(x + k/m d)).

  d = x_adv - x from the inner attack (eval mode, held fixed). With m = 1 the
  sum is TRADES' KL(f(x) || f(x_adv)). Both arguments of every KL are
  differentiated, as in TRADES and the authors' code (the reference point is
  not detached).

  The m + 1 points are m + 1 separate top-level calls of the training-mode
  model (m is static, so this is an unrolled loop), as the authors' m + 1
  forward passes: with BatchNorm each point is normalised by its own batch's
  statistics, not by those of the union of all points. The running statistics
  kept are those of the clean pass, made last (the defense contract keeps the
  last call's; TRADES here keeps the clean pass's too, so BAT with m = 1 is
  TRADES exactly). The authors' torch layers instead fold all m + 1 passes into
  the running averages in turn. For a model without BatchNorm (or any other
  batch-coupled layer) the passes give the same logits as one batched pass.

  Attributes:
    attack: the inner attack; default PGD on cross-entropy, PGD(eps=0.3,
      step_size=0.01, steps=10) (random start), the authors' default; TRADES'
      TPGD (KL) is their other choice.
    beta: weight of the bridged KL sum.
    bridges: m, the number of segments (static).
  """
  attack: Any = struct.field(default_factory=PGD)
  beta: float = 6.0
  bridges: int = struct.field(pytree_node=False, default=5)

  NONNEGATIVE = ("beta",)

  def __post_init__(self):
    _checks.check_int_at_least("bridges", self.bridges, 1)
    super().__post_init__()

  def loss_at(self, train_logits_fn, x, x_adv, y):
    m = self.bridges
    delta = x_adv - x
    # One forward pass per bridge point k = 1..m, then the clean point (k = 0)
    # last, whose BatchNorm statistics are kept.
    bridge_logits = [train_logits_fn(x + (k / m) * delta) for k in range(1, m + 1)]
    logits = [train_logits_fn(x)] + bridge_logits
    kl = sum(kl_divergence(logits[k - 1], logits[k]) for k in range(1, m + 1))
    return cross_entropy(logits[0], y) + self.beta * kl, {
        "accuracy": accuracy(logits[0], y), "adv_accuracy": accuracy(logits[-1], y),
        "kl": kl}
