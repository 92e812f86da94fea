"""Adversarial weight perturbation (AWP) on top of an adversarial-training objective.

References:
  Wu, Xia & Wang, "Adversarial Weight Perturbation Helps Robust
  Generalization", NeurIPS 2020.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust.defenses._base import AdversarialDefense, check_nonnegative_fields
from jaxrobust.defenses.pgd_at import PGDAT


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
class AWP(AdversarialDefense):
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
    base: the objective perturbed (a defense with `adversarial_inputs` and
      `loss_at`: PGDAT, TRADES, MART, BAT, ...); default PGDAT().
    gamma: relative size of the weight perturbation (paper: 5e-3).
  """
  base: Any = struct.field(default_factory=PGDAT)
  gamma: float = 5e-3

  NONNEGATIVE = ("gamma",)
  perturbs_weights = True  # class attribute: the train-step hook

  def __post_init__(self):
    hooks = all(hasattr(self.base, h) for h in ("adversarial_inputs", "loss_at"))
    if not hooks or getattr(self.base, "perturbs_weights", False):
      raise TypeError(f"AWP's base must be a defense with adversarial_inputs and "
                      f"loss_at that does not perturb weights itself (e.g. PGDAT, "
                      f"TRADES), got {type(self.base).__name__}.")
    check_nonnegative_fields(self, self.NONNEGATIVE)

  @property
  def attack(self):
    """The base defense's inner attack."""
    return self.base.attack

  def adversarial_inputs(self, eval_logits_fn, x, y, *, key):
    return self.base.adversarial_inputs(eval_logits_fn, x, y, key=key)

  def loss_at(self, train_logits_fn, x, x_adv, y):
    return self.base.loss_at(train_logits_fn, x, x_adv, y)

  def weight_perturbation(self, loss_of_params: Callable[[Any], jax.Array],
                          params: Any) -> Any:
    """v (like params) from the scalar batch loss as a function of the weights."""
    grads = jax.grad(loss_of_params)(params)
    return jax.lax.stop_gradient(relative_perturbation(grads, params, self.gamma))
