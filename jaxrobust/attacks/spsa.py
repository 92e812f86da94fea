"""SPSA: a gradient-free Linf attack on the margin, with Adam on a finite-difference estimate.

References:
  Uesato, O'Donoghue, van den Oord & Kohli, "Adversarial Risk and the Dangers of
  Evaluating Against Weak Attacks", ICML 2018 (Algorithm 1); Spall, "Multivariate
  stochastic approximation using a simultaneous perturbation gradient
  approximation", IEEE TAC 1992.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxrobust import _checks
import optax
from flax import struct

from jaxrobust.attacks import _core
from jaxrobust.attacks._base import Attack, static
from jaxrobust.losses import cw_margin


def margin_loss(logits: jax.Array, y: jax.Array, targeted: bool) -> jax.Array:
  """The loss SPSA descends, [batch]: negative iff the attack has succeeded.

  Untargeted: z_y - max_{j != y} z_j. Targeted (y are targets): max_{j != y} z_j - z_y.
  """
  margin = cw_margin(logits, y)
  return margin if targeted else -margin


def spsa_gradient(loss_fn, x: jax.Array, key: jax.Array, delta, nb_sample: int,
                  sample_batch: int | None = None) -> jax.Array:
  """SPSA estimate of d loss_fn(x)_i / d x_i for each example, [batch, ...].

  g = 1/n sum_k (f(x + delta v_k) - f(x - delta v_k)) / (2 delta) * v_k, with
  v_k Rademacher ({-1, +1} per coordinate, so 1/v = v), drawn independently for
  every example. Unbiased up to O(delta^2) for smooth f.

  Args:
    loss_fn: inputs [batch, ...] -> per-example losses [batch].
    x: the point [batch, ...].
    key: PRNG key for the perturbations.
    delta: finite-difference scale.
    nb_sample: number of perturbation pairs n (2n evaluations of loss_fn).
    sample_batch: how many samples to evaluate in one vectorised call (memory:
      2 * sample_batch * batch inputs at once); None: all n at once.
  """

  def one(k):
    v = jax.random.rademacher(k, x.shape, x.dtype)
    both = jnp.concatenate([x + delta * v, x - delta * v])
    f = loss_fn(both)
    df = f[:x.shape[0]] - f[x.shape[0]:]
    return df.reshape((-1,) + (1,) * (x.ndim - 1)) * v

  keys = jax.random.split(key, nb_sample)
  terms = jax.lax.map(one, keys, batch_size=sample_batch)
  return jnp.mean(terms, axis=0) / (2 * delta)


@struct.dataclass
class SPSA(Attack):
  """Adam descent of the margin loss on an SPSA gradient estimate, projected to the Linf ball.

  Each iteration estimates the gradient from `nb_sample` Rademacher pairs
  (2 * nb_sample model evaluations per example, no gradients of the model), takes
  an Adam step and projects to the eps ball and the box. With `early_stop`, an
  example stops moving once its margin loss is negative (the paper stops the
  attack there); otherwise the point with the lowest margin loss seen is
  returned.

  Attributes:
    eps: Linf radius.
    delta: finite-difference scale of the perturbations (paper: 0.01).
    learning_rate: Adam's learning rate (paper: 0.01).
    steps: number of iterations (static).
    nb_sample: perturbation pairs per iteration (static; 128 in the reference
      implementations, cleverhans' `spsa_samples` and advertorch's `nb_sample`).
    sample_batch: samples evaluated per vectorised call (static; memory only,
      the result does not depend on it).
    random_start: start from a uniform point of the ball (static), as the
      paper's reference implementation (cleverhans) does; torchattacks starts at x.
    early_stop: freeze an example once it is adversarial (static).
    targeted: if True, `y` are target labels (static).
  """
  eps: float = 0.3
  delta: float = 0.01
  learning_rate: float = 0.01
  steps: int = static(10)
  nb_sample: int = static(128)
  sample_batch: int | None = static(32)
  random_start: bool = static(False)
  early_stop: bool = static(True)
  targeted: bool = static(False)

  NONNEGATIVE = ("eps", "delta", "learning_rate")
  MINIMUMS = {"nb_sample": 1, "sample_batch": 1}
  RANDOMIZED = "the perturbations are random"

  def check_numeric(self):
    _checks.check_number("delta (it divides the estimate)", self.delta, low=0, low_open=True)

  def run(self, logits_fn, x, y, key):
    """Linf ball of radius eps; logits_fn is only evaluated."""
    n_rep = lambda z: z.shape[0] // x.shape[0]
    loss_of = lambda z: margin_loss(logits_fn(z), jnp.tile(y, n_rep(z)), self.targeted)
    optimizer = optax.adam(self.learning_rate)
    expand = lambda v: v.reshape((-1,) + (1,) * (x.ndim - 1))
    start_key, key = jax.random.split(key)
    x0 = (_core.random_start(start_key, x, self.eps, "linf")
          if self.random_start else x)

    def step(i, carry):
      x_adv, opt_state, best_x, best_loss, active = carry
      loss = loss_of(x_adv)
      better = loss < best_loss
      best_x = jnp.where(expand(better), x_adv, best_x)
      best_loss = jnp.minimum(loss, best_loss)
      if self.early_stop:
        active = active & (best_loss >= 0)
      grad = spsa_gradient(loss_of, x_adv, jax.random.fold_in(key, i), self.delta,
                           self.nb_sample, self.sample_batch)
      updates, new_state = optimizer.update(grad, opt_state, x_adv)
      x_next = _core.to_ball_and_box(x, optax.apply_updates(x_adv, updates), self.eps, "linf")
      x_adv = jnp.where(expand(active), x_next, x_adv)
      return x_adv, new_state, best_x, best_loss, active

    batch = x.shape[0]
    init = (x0, optimizer.init(x0), x0, jnp.full(batch, jnp.inf, x.dtype),
            jnp.ones(batch, bool))
    x_adv, _, best_x, best_loss, _ = jax.lax.fori_loop(0, self.steps, step, init)
    final = loss_of(x_adv)
    return jnp.where(expand(final < best_loss), x_adv, best_x)
