"""Diverse-input iterative FGSM (DI2-FGSM; with decay > 0, M-DI2-FGSM).

References:
  Xie et al., "Improving Transferability of Adversarial Examples with Input
  Diversity", CVPR 2019.
"""

from __future__ import annotations

import jax
from flax import struct

from jaxrobust.attacks import _core, _transfer


@struct.dataclass
class DIFGSM:
  """MI-FGSM whose gradient is taken through a random resize-and-pad of x_t.

  With probability diversity_prob per step, the whole batch is resized to a
  random size in [resize_rate * W, W) and zero-padded back at a random offset
  (`_transfer.input_diversity`). Linf only; images [batch, height, width, channels].

  Attributes:
    eps: Linf radius (pixel units of [0, 1]).
    step_size: size of each sign step.
    decay: momentum factor (0: no momentum, DI2-FGSM).
    diversity_prob: probability of transforming the input at a step.
    steps: number of iterations (static).
    resize_rate: smallest relative size, in (0, 1) (static: it sets the shapes).
    loss: per-example loss name from `jaxrobust.losses` (static).
    targeted: if True, `y` are target labels and the loss is descended (static).
    random_start: start from a uniform point of the ball (static).
  """
  eps: float = 8 / 255
  step_size: float = 2 / 255
  decay: float = 0.0
  diversity_prob: float = 0.5
  steps: int = struct.field(pytree_node=False, default=10)
  resize_rate: float = struct.field(pytree_node=False, default=0.9)
  loss: str = struct.field(pytree_node=False, default="ce")
  targeted: bool = struct.field(pytree_node=False, default=False)
  random_start: bool = struct.field(pytree_node=False, default=False)

  def __post_init__(self):
    _core.check_static_fields(self)
    _transfer.check_resize_rate(self.resize_rate)

  def validate(self) -> "DIFGSM":
    """Checks the numeric hyperparameters when they are concrete; returns self."""
    _core.check_numeric_fields(self, names=("eps", "step_size", "decay"))
    _transfer.check_probability("diversity_prob", self.diversity_prob)
    return self

  def __call__(self, logits_fn: _core.LogitsFn, x: jax.Array, y: jax.Array, *,
               key: jax.Array | None = None) -> jax.Array:
    """Returns x_adv [batch, H, W, C] with ||x_adv - x||_inf <= eps, inside [0, 1].

    Args:
      logits_fn: inputs [batch, H, W, C] -> logits [batch, classes].
      x: clean images [batch, H, W, C] in [0, 1].
      y: labels [batch] (targets if `targeted`).
      key: PRNG key (required: the transform is random).
    """
    loss_fn, sign = _transfer.prepare(self, x, y)
    _transfer.require_key("DIFGSM", key)
    x_start, key = _transfer.start(self, x, key)
    diverse = lambda k, z: _transfer.input_diversity(k, z, self.resize_rate,
                                                     self.diversity_prob)
    return _transfer.momentum_loop(
        _transfer.loss_gradient(logits_fn, loss_fn, y, sign, diverse), x, x_start,
        eps=self.eps, step_size=self.step_size, decay=self.decay, steps=self.steps, key=key)
