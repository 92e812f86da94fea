"""IBP training: a mix of the natural and the verified (interval-bound) cross-entropy.

References:
  Gowal et al., "On the Effectiveness of Interval Bound Propagation for
  Training Verifiably Robust Models", arXiv:1810.12715, 2018, Eq. 9
  (loss = kappa CE(z, y) + (1 - kappa) CE(z_worst, y)) and Sec. 4 (a warm-up at
  eps = 0, then eps ramped up linearly while kappa goes from 1 to 0.5).
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust import _checks
from jaxrobust.certify import bounds
from jaxrobust.certify.network import capture, network as build_network
from jaxrobust.defenses._base import accuracy, check_nonnegative_fields
from jaxrobust.losses import cross_entropy


def ramp(step, warmup_steps: int, ramp_steps: int):
  """Schedule position in [0, 1]: 0 during the warm-up, linear over the ramp, then 1.
  step None (no step given): 1, the end of the schedule."""
  if step is None:
    return jnp.float32(1.0)
  step = jnp.asarray(step, jnp.float32)
  if not ramp_steps:
    return (step >= warmup_steps).astype(jnp.float32)
  return jnp.clip((step - warmup_steps) / ramp_steps, 0.0, 1.0)


def verified_cross_entropy(margin_low, y):
  """CE of the worst-case logits z_j = -lower(z_y - z_j) ([batch]): an upper bound of
  the cross-entropy over the whole ball (Gowal et al., Eq. 8)."""
  return cross_entropy(-margin_low, y)


@struct.dataclass
class IBP:
  """loss = kappa_t CE(f(x), y) + (1 - kappa_t) CE(-m(x, eps_t), y), m the IBP lower
  bounds of the margins z_y - z_j over the ball of radius eps_t within [0, 1].

  The schedule runs on the global training step: `at_step(step)` returns the
  defense at that step (the train step calls it, `jaxrobust.train.make_train_step`);
  without a step the end of the schedule applies (eps_t = eps, kappa_t = kappa).
  Warm-up: eps_t = 0, kappa_t = 1; ramp: both linear to (eps, kappa).

  The bounds are those of the model the train logits function applies (found
  by `jaxrobust.certify.capture`; MLP, Linear or SmallCNN without BatchNorm).

  Attributes:
    eps: training radius at the end of the ramp (may exceed the test radius).
    kappa: weight of the natural loss at the end of the ramp (Gowal et al.: 0.5).
    warmup_steps, ramp_steps: steps at eps 0, then steps of the linear ramp.
    norm: "linf" or "l2".
    step: the global step (set by at_step); None: the end of the schedule.
  """
  eps: float = 0.1
  kappa: float = 0.5
  warmup_steps: int = struct.field(pytree_node=False, default=0)
  ramp_steps: int = struct.field(pytree_node=False, default=0)
  norm: str = struct.field(pytree_node=False, default="linf")
  step: Any = None

  METHOD: ClassVar[str] = "ibp"
  NONNEGATIVE: ClassVar[tuple[str, ...]] = ("eps",)

  def __post_init__(self):
    check_nonnegative_fields(self, self.NONNEGATIVE)
    _checks.check_number(f"{type(self).__name__}.kappa", self.kappa, low=0, high=1)
    _checks.check_choice("norm", self.norm, bounds.NORMS)
    for name in ("warmup_steps", "ramp_steps"):
      _checks.check_int_at_least(f"{type(self).__name__}.{name}", getattr(self, name), 0)

  def at_step(self, step):
    """This defense at global training step `step` (traced or concrete)."""
    return self.replace(step=step)

  def schedule(self) -> dict[str, jax.Array]:
    """The scheduled values at `step`: eps and kappa (and beta for CROWN-IBP)."""
    t = ramp(self.step, self.warmup_steps, self.ramp_steps)
    return {"eps": self.eps * t, "kappa": 1.0 + (self.kappa - 1.0) * t}

  def margin_lower(self, net, x, y, values):
    """Lower bounds [batch, classes] of the margins at the scheduled eps."""
    return bounds.margin_lower(net, x, y, values["eps"], norm=self.norm, method=self.METHOD)

  def __call__(self, train_logits_fn, eval_logits_fn, x, y, *, key):
    del eval_logits_fn, key
    model, variables, logits = capture(train_logits_fn, x)
    if getattr(model, "batchnorm", False):
      raise TypeError(f"{type(self).__name__} trains models without BatchNorm (its bounds in "
                      "train mode would need batch statistics); use small_cnn with "
                      "batchnorm=False, or mlp.")
    net = build_network(model, variables, x.shape[1:])
    values = self.schedule()
    low = self.margin_lower(net, x, y, values)
    verified = verified_cross_entropy(low, y)
    loss = values["kappa"] * cross_entropy(logits, y) + (1.0 - values["kappa"]) * verified
    ones = jnp.ones_like(verified)
    return loss, {"accuracy": accuracy(logits, y), "verified_loss": verified,
                  "verified_accuracy": bounds.certified(low, y).astype(jnp.float32),
                  **{k: v * ones for k, v in values.items()}}
