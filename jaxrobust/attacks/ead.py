"""The elastic-net attack (EAD): FISTA on c * f(x') + ||x' - x||_2^2 + beta * ||x' - x||_1.

References:
  Chen, Sharma, Zhang, Yi & Hsieh, "EAD: Elastic-Net Attacks to Deep Neural
  Networks via Adversarial Examples", AAAI 2018.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust.attacks import _core
from jaxrobust.attacks._base import Attack, static
from jaxrobust.attacks.cw import (check_positive, margin_objective, search_constant,
                                  succeeded)

DECISION_RULES = ("EN", "L1")


def shrink(z: jax.Array, x: jax.Array, beta) -> jax.Array:
  """The paper's projected shrinkage-thresholding S_beta: z - x soft-thresholded
  at beta (the proximal step of beta * ||. - x||_1), then clipped to [0, 1]."""
  d = z - x
  return _core.clip_to_box(x + jnp.sign(d) * jnp.maximum(jnp.abs(d) - beta, 0.0))


@struct.dataclass
class EAD(Attack):
  """FISTA with the slack y_k, momentum k / (k + 3) and learning rate
  lr * (1 - k / steps)^0.5, with a per-example binary search over c; keeps per
  example the best successful iterate by `decision_rule`.

  As in the paper's code, each value of c restarts from x (torchattacks'
  EADL1/EADEN carry the iterates over from one c to the next) and the kappa in
  the success test applies per example (torchattacks shifts the columns of every
  label in the batch). All `steps` run: no early abort on the loss (torchattacks'
  default `abort_early`), so the result never depends on the rest of the batch.
  The momentum's k counts the steps taken (1 at the first, as the paper's code
  and torchattacks).

  Attributes:
    c: initial weight of the margin term (per example during the search).
    kappa: confidence: the margin term stops pulling at margin kappa.
    beta: weight of the L1 term (0: a box-projected L2 attack).
    steps: FISTA iterations per value of c (static).
    learning_rate: initial step size of the gradient step.
    binary_search_steps: values of c tried (static).
    decision_rule: "EN" keeps the smallest L2^2 + beta * L1, "L1" the smallest
      L1 (static).
    targeted: if True, `y` are target labels (static).
  """
  c: float = 1.0
  kappa: float = 0.0
  beta: float = 1e-3
  steps: int = static(100)
  learning_rate: float = 0.01
  binary_search_steps: int = static(9)
  decision_rule: str = static("EN")
  targeted: bool = static(False)

  NONNEGATIVE = ("c", "kappa", "beta")
  MINIMUMS = {"binary_search_steps": 1}

  def check_static(self):
    _core.check_choice("decision_rule", self.decision_rule, DECISION_RULES)

  def check_numeric(self):
    check_positive("learning_rate", self.learning_rate)

  def run(self, logits_fn, x, y, key):
    """x itself where no c succeeded."""
    batch = x.shape[0]
    expand = lambda v: v.reshape((-1,) + (1,) * (x.ndim - 1))
    flat = lambda v: v.reshape(batch, -1)

    def smooth_loss(z, c):
      # The L1 term is left to the shrinkage step (ISTA), as in the paper.
      f = margin_objective(logits_fn(z), y, self.kappa, self.targeted)
      return jnp.sum(c * f + jnp.sum(flat(z - x) ** 2, axis=1))

    def fista_step(k, carry):
      x_k, y_k, c, found, best_cost, best_x = carry
      lr = self.learning_rate * (1 - k / self.steps) ** 0.5
      x_next = shrink(y_k - lr * jax.grad(smooth_loss)(y_k, c), x, self.beta)
      y_k = x_next + (k + 1) / (k + 4) * (x_next - x_k)
      success = succeeded(logits_fn(x_next), y, self.kappa, self.targeted)
      l1 = jnp.sum(jnp.abs(flat(x_next - x)), axis=1)
      cost = l1 if self.decision_rule == "L1" else (
          jnp.sum(flat(x_next - x) ** 2, axis=1) + self.beta * l1)
      better = success & (cost < best_cost)
      best_cost = jnp.where(better, cost, best_cost)
      best_x = jnp.where(expand(better), x_next, best_x)
      return x_next, y_k, c, found | success, best_cost, best_x

    def attempt(c, best_cost, best_x):
      init = (x, x, c, jnp.zeros(batch, bool), best_cost, best_x)
      return jax.lax.fori_loop(0, self.steps, fista_step, init)[3:]

    return search_constant(self.c, x, self.binary_search_steps, attempt)
