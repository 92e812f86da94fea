"""Momentum iterative FGSM.

References:
  Dong et al., "Boosting Adversarial Attacks with Momentum", CVPR 2018.
"""

from __future__ import annotations

import jax
from flax import struct

from jaxrobust.attacks import _core, _transfer


@struct.dataclass
class MIFGSM:
  """g_{t+1} = decay * g_t + grad / ||grad||_1; x_{t+1} = Proj(x_t + step_size * sign(g_{t+1})).

  Linf only. With decay = 0 it is the basic iterative method (PGD without a
  random start).

  Attributes:
    eps: Linf radius (pixel units of [0, 1]).
    step_size: size of each sign step.
    decay: momentum factor mu (1.0 in the paper).
    steps: number of iterations (static).
    loss: per-example loss name from `jaxrobust.losses` (static).
    targeted: if True, `y` are target labels and the loss is descended (static).
    random_start: start from a uniform point of the ball (static; off in the paper).
  """
  eps: float = 8 / 255
  step_size: float = 2 / 255
  decay: float = 1.0
  steps: int = struct.field(pytree_node=False, default=10)
  loss: str = struct.field(pytree_node=False, default="ce")
  targeted: bool = struct.field(pytree_node=False, default=False)
  random_start: bool = struct.field(pytree_node=False, default=False)

  def __post_init__(self):
    _core.check_static_fields(self)

  def validate(self) -> "MIFGSM":
    """Checks the numeric hyperparameters when they are concrete; returns self."""
    _core.check_numeric_fields(self, names=("eps", "step_size", "decay"))
    return self

  def __call__(self, logits_fn: _core.LogitsFn, x: jax.Array, y: jax.Array, *,
               key: jax.Array | None = None) -> jax.Array:
    """Returns x_adv [batch, ...] with ||x_adv - x||_inf <= eps, inside [0, 1].

    Args:
      logits_fn: inputs [batch, ...] -> logits [batch, classes].
      x: clean inputs [batch, ...] in [0, 1].
      y: labels [batch] (targets if `targeted`).
      key: PRNG key, needed only with `random_start`.
    """
    loss_fn, sign = _transfer.prepare(self, x, y)
    x_start, key = _transfer.start(self, x, key)
    return _transfer.momentum_loop(
        _transfer.loss_gradient(logits_fn, loss_fn, y, sign), x, x_start, eps=self.eps,
        step_size=self.step_size, decay=self.decay, steps=self.steps, key=key)
