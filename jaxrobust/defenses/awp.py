"""Adversarial weight perturbation (AWP) on top of PGD-AT or TRADES.

References:
  Wu, Xia & Wang, "Adversarial Weight Perturbation Helps Robust
  Generalization", NeurIPS 2020.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust.attacks import _core
from jaxrobust.defenses._base import accuracy, check_nonnegative_fields
from jaxrobust.defenses.pgd_at import PGDAT
from jaxrobust.defenses.trades import TRADES
from jaxrobust.losses import cross_entropy

BASES = ("pgd_at", "trades")


def relative_perturbation(grads: Any, params: Any, gamma) -> Any:
  """v_l = gamma * ||w_l|| * g_l / ||g_l|| for every weight tensor (ndim > 1).

  Biases and other vectors are not perturbed, as in the authors' code (which
  perturbs `weight` tensors of more than one dimension). Norms are Frobenius
  norms per layer tensor; a zero gradient gives a zero perturbation.
  """
  def one(g, w):
    if w.ndim <= 1:
      return jnp.zeros_like(w)
    scale = gamma * jnp.linalg.norm(w) / (jnp.linalg.norm(g) + 1e-20)
    return scale * g
  return jax.tree.map(one, grads, params)


@struct.dataclass
class AWP:
  """Trains on the base objective at weights w + v, v the layer-wise
  relative perturbation of size gamma that increases it.

  One step, as in the paper: (1) x_adv from the base defense's attack at the
  unperturbed weights; (2) v = gamma ||w_l|| grad_l / ||grad_l||, the gradient of
  the base loss (at x_adv) w.r.t. w; (3) the gradient of the base loss at w + v
  (v held fixed) updates w.

  The train step (`jaxrobust.train.make_train_step`) performs (2) and (3) when a
  defense has `perturbs_weights = True`: a defense sees only logits functions
  and cannot move the weights itself. Called directly as a `Defense`, AWP
  returns the base loss at the unperturbed weights.

  Attributes:
    eps, step_size, steps: the base defense's inner attack.
    beta: TRADES' weight (awp_base="trades").
    gamma: relative size of the weight perturbation (paper: 5e-3).
    awp_base: "pgd_at" or "trades" (static).
  """
  eps: float = 0.3
  step_size: float = 0.01
  beta: float = 6.0
  gamma: float = 5e-3
  steps: int = struct.field(pytree_node=False, default=10)
  awp_base: str = struct.field(pytree_node=False, default="pgd_at")

  perturbs_weights = True  # class attribute: the train-step hook

  def __post_init__(self):
    _core.check_choice("AWP base defense", self.awp_base, BASES)
    _core.check_nonnegative("gamma", self.gamma)
    check_nonnegative_fields(self, ("beta",))

  @property
  def base(self):
    if self.awp_base == "trades":
      return TRADES(eps=self.eps, step_size=self.step_size, beta=self.beta,
                    steps=self.steps)
    return PGDAT(eps=self.eps, step_size=self.step_size, steps=self.steps)

  @property
  def attack(self):
    return self.base.attack

  def adversarial_inputs(self, eval_logits_fn, x, y, *, key):
    return jax.lax.stop_gradient(self.base.attack(eval_logits_fn, x, y, key=key))

  def loss_at(self, train_logits_fn, x, x_adv, y):
    if self.awp_base == "trades":
      return self.base.loss_at(train_logits_fn, x, x_adv, y)
    logits = train_logits_fn(x_adv)
    return cross_entropy(logits, y), {"accuracy": accuracy(logits, y)}

  def weight_perturbation(self, loss_of_params: Callable[[Any], jax.Array],
                          params: Any) -> Any:
    """v (like params) from the scalar batch loss as a function of the weights."""
    grads = jax.grad(loss_of_params)(params)
    return jax.lax.stop_gradient(relative_perturbation(grads, params, self.gamma))

  def __call__(self, train_logits_fn, eval_logits_fn, x, y, *, key):
    return self.loss_at(train_logits_fn, x,
                        self.adversarial_inputs(eval_logits_fn, x, y, key=key), y)
