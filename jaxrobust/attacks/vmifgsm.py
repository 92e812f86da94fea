"""Variance-tuned MI-FGSM and NI-FGSM.

References:
  Wang & He, "Enhancing the Transferability of Adversarial Attacks through
  Variance Tuning", CVPR 2021.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust.attacks import _core, _transfer


def _neighbour_gradient(gradient, x, n: int, radius):
  """The mean gradient at n points x_t + r_i, r_i ~ U[-radius, radius]^d (vmap over keys)."""
  def mean_gradient(x_adv, key):
    def at(k):
      r = jax.random.uniform(k, x.shape, x.dtype, -radius, radius)
      return gradient(x_adv + r, None)
    return jnp.mean(jax.vmap(at)(jax.random.split(key, n)), axis=0)
  return mean_gradient


def _call(attack, logits_fn, x, y, key, nesterov):
  loss_fn, sign = _transfer.prepare(attack, x, y)
  if attack.n > 0:
    _transfer.require_key(type(attack).__name__, key)
  x_start, key = _transfer.start(attack, x, key)
  gradient = _transfer.loss_gradient(logits_fn, loss_fn, y, sign)
  # n = 0 samples: no variance term (v = 0), i.e. MI-FGSM / NI-FGSM.
  neighbours = (_neighbour_gradient(gradient, x, attack.n, attack.beta * attack.eps)
                if attack.n > 0 else None)
  return _transfer.momentum_loop(
      gradient, x, x_start, eps=attack.eps, step_size=attack.step_size, decay=attack.decay,
      steps=attack.steps, key=key, nesterov=nesterov, neighbour_gradient=neighbours)


class _VarianceTuned:
  """The fields' checks and the call, shared by VMIFGSM and VNIFGSM."""
  NESTEROV = False

  def __post_init__(self):
    _core.check_static_fields(self)
    _core.check_at_least("n", self.n, 0)

  def validate(self):
    """Checks the numeric hyperparameters when they are concrete; returns self."""
    _core.check_numeric_fields(self, names=("eps", "step_size", "decay", "beta"))
    return self

  def __call__(self, logits_fn: _core.LogitsFn, x: jax.Array, y: jax.Array, *,
               key: jax.Array | None = None) -> jax.Array:
    """Returns x_adv [batch, ...] with ||x_adv - x||_inf <= eps, inside [0, 1].

    Args:
      logits_fn: inputs [batch, ...] -> logits [batch, classes].
      x: clean inputs [batch, ...] in [0, 1].
      y: labels [batch] (targets if `targeted`).
      key: PRNG key (required when n > 0: the neighbours are sampled).
    """
    return _call(self, logits_fn, x, y, key, self.NESTEROV)


@struct.dataclass
class VMIFGSM(_VarianceTuned):
  """MI-FGSM whose gradient is corrected by the variance of the previous step:

    g_hat = grad J(x_t);  g_{t+1} = decay * g_t + (g_hat + v_t) / ||g_hat + v_t||_1
    v_{t+1} = (1/n) sum_i grad J(x_t + r_i) - g_hat,  r_i ~ U[-beta eps, beta eps]^d

  Attributes:
    eps: Linf radius (pixel units of [0, 1]).
    step_size: size of each sign step.
    decay: momentum factor mu.
    beta: neighbourhood radius as a multiple of eps.
    steps: number of iterations (static).
    n: neighbours sampled per step (static; 0 turns variance tuning off).
    loss: per-example loss name from `jaxrobust.losses` (static).
    targeted: if True, `y` are target labels and the loss is descended (static).
    random_start: start from a uniform point of the ball (static; off in the paper).
  """
  eps: float = 8 / 255
  step_size: float = 2 / 255
  decay: float = 1.0
  beta: float = 1.5
  steps: int = struct.field(pytree_node=False, default=10)
  n: int = struct.field(pytree_node=False, default=20)
  loss: str = struct.field(pytree_node=False, default="ce")
  targeted: bool = struct.field(pytree_node=False, default=False)
  random_start: bool = struct.field(pytree_node=False, default=False)


@struct.dataclass
class VNIFGSM(_VarianceTuned):
  """VMI-FGSM with NI-FGSM's look-ahead: g_hat = grad J(x_t + step_size * decay * g_t);
  the neighbours are still sampled around x_t (as torchattacks).

  Attributes: as `VMIFGSM`.
  """
  NESTEROV = True
  eps: float = 8 / 255
  step_size: float = 2 / 255
  decay: float = 1.0
  beta: float = 1.5
  steps: int = struct.field(pytree_node=False, default=10)
  n: int = struct.field(pytree_node=False, default=20)
  loss: str = struct.field(pytree_node=False, default="ce")
  targeted: bool = struct.field(pytree_node=False, default=False)
  random_start: bool = struct.field(pytree_node=False, default=False)
