"""Carlini & Wagner's L2 attack: Adam on a tanh-reparametrised input, binary search over c.

References:
  Carlini & Wagner, "Towards Evaluating the Robustness of Neural Networks",
  IEEE S&P 2017.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from jaxrobust.attacks import _core
from jaxrobust.attacks._base import Attack, static
from jaxrobust.losses import cw_margin

# A constant at or above this has never had a success: keep multiplying by 10
# (the paper's code: "upper_bound < 1e9").
NO_UPPER_BOUND = 1e10


def check_positive(name: str, value) -> None:
  """Raises for a concrete value that is not finite and > 0; tracers pass."""
  _core.check_nonnegative(name, value)
  if not isinstance(value, jax.core.Tracer) and np.any(np.asarray(value) <= 0):
    raise ValueError(f"{name} must be finite and > 0, got {value}.")


def margin_objective(logits, y, kappa, targeted):
  """The paper's f_6 per example, [batch]: max(z_y - max_{j!=y} z_j, -kappa)
  (targeted: max(max_{j!=t} z_j - z_t, -kappa)); <= 0 once the attack succeeds."""
  margin = cw_margin(logits, y)  # max_{j!=y} z_j - z_y
  return jnp.maximum(margin if targeted else -margin, -kappa)


def succeeded(logits, y, kappa, targeted):
  """Success with confidence kappa, as the paper's `compare`: the label's logit
  handicapped by kappa still loses (untargeted), or the target's wins by kappa."""
  shift = (-kappa if targeted else kappa) * jax.nn.one_hot(y, logits.shape[-1], dtype=logits.dtype)
  pred = jnp.argmax(logits + shift, axis=-1)
  return pred == y if targeted else pred != y


def update_constant(c, lower, upper, success):
  """The paper's per-example binary search step over c: success -> upper = c,
  bisect; failure -> lower = c, then x10 while no upper bound, else bisect."""
  upper = jnp.where(success, jnp.minimum(upper, c), upper)
  lower = jnp.where(success, lower, jnp.maximum(lower, c))
  c = jnp.where(upper < NO_UPPER_BOUND / 10, (lower + upper) / 2, c * 10)
  return c, lower, upper


def search_constant(c0, x: jax.Array, rounds: int, attempt) -> jax.Array:
  """The binary search over c shared by CW and EAD: `rounds` attempts, each
  attempt(c [batch], best_score [batch], best_x) -> (found [batch] bool,
  best_score, best_x) keeping the best example so far; returns best_x."""
  def search_step(_, carry):
    c, lower, upper, best_score, best_x = carry
    found, best_score, best_x = attempt(c, best_score, best_x)
    c, lower, upper = update_constant(c, lower, upper, found)
    return c, lower, upper, best_score, best_x

  c = jnp.broadcast_to(jnp.asarray(c0, x.dtype), x.shape[:1])
  init = (c, jnp.zeros_like(c), jnp.full_like(c, NO_UPPER_BOUND),
          jnp.full_like(c, jnp.inf), x)
  return jax.lax.fori_loop(0, rounds, search_step, init)[-1]


@struct.dataclass
class CW(Attack):
  """min_w ||x' - x||_2^2 + c * f(x'), x' = (tanh(w) + 1) / 2, by Adam; keeps per
  example the smallest-L2 successful x' seen at any step of any c.

  Unlike torchattacks' CW, there is no early stop when the summed cost stops
  decreasing (it checks every steps // 10 steps and returns at the first rise):
  all `steps` run, so a longer run never returns a worse example (the best
  so far is monotone in `steps`), and the batch does not decide for each
  example when to stop. There is also the paper's binary search over c, which
  torchattacks leaves out, and success counts the confidence kappa (the paper's
  `compare`; torchattacks counts a plain misclassification).

  Attributes:
    c: initial weight of the margin term (per example during the search).
    kappa: confidence: the margin term stops pulling at margin kappa.
    steps: Adam steps per value of c (static).
    learning_rate: Adam's learning rate.
    binary_search_steps: values of c tried (static); 1 is a single-c attack.
    targeted: if True, `y` are target labels (static).
  """
  c: float = 1.0
  kappa: float = 0.0
  steps: int = static(50)
  learning_rate: float = 0.01
  binary_search_steps: int = static(1)
  targeted: bool = static(False)

  NONNEGATIVE = ("c", "kappa")
  MINIMUMS = {"binary_search_steps": 1}

  def check_numeric(self):
    check_positive("learning_rate", self.learning_rate)

  def run(self, logits_fn, x, y, key):
    """x itself where no c succeeded."""
    batch = x.shape[0]
    # The paper's 0.999999 keeps the pixels at 0 and 1 at a finite w.
    w_start = jnp.arctanh((2 * x - 1) * (1 - 1e-6))
    optimizer = optax.adam(self.learning_rate)

    def objective(w, c):
      x_new = (jnp.tanh(w) + 1) / 2
      logits = logits_fn(x_new)
      dist = jnp.sum(((x_new - x) ** 2).reshape(batch, -1), axis=1)
      f = margin_objective(logits, y, self.kappa, self.targeted)
      return jnp.sum(dist + c * f), (x_new, logits, dist)

    def adam_step(_, carry):
      w, opt_state, c, found, best_dist, best_x = carry
      grad, (x_new, logits, dist) = jax.grad(objective, has_aux=True)(w, c)
      success = succeeded(logits, y, self.kappa, self.targeted)
      found = found | success
      better = success & (dist < best_dist)
      best_dist = jnp.where(better, dist, best_dist)
      best_x = jnp.where(better.reshape((-1,) + (1,) * (x.ndim - 1)), x_new, best_x)
      updates, opt_state = optimizer.update(grad, opt_state, w)
      return optax.apply_updates(w, updates), opt_state, c, found, best_dist, best_x

    def attempt(c, best_dist, best_x):
      # Each c starts afresh from x with a fresh Adam state, as in the paper.
      init = (w_start, optimizer.init(w_start), c, jnp.zeros(batch, bool), best_dist, best_x)
      return jax.lax.fori_loop(0, self.steps, adam_step, init)[3:]

    return search_constant(self.c, x, self.binary_search_steps, attempt)
