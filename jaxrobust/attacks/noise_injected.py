"""Noise-injected iterative FGSM: the gradient of each step is taken at a noisy copy
of the iterate, so the perturbation does not overfit the source model.

References:
  Kim, Park & Lee, "Generating Transferable Adversarial Examples for Speech
  Classification", Pattern Recognition 137, 2023. The rule implemented here is
  the one stated in this project's design (the paper's text was not available
  to check it against): Gaussian noise N(0, noise_std^2) is added to x_t before
  the gradient, and the step is applied to the clean iterate x_t.
"""

from __future__ import annotations

import jax
from flax import struct

from jaxrobust.attacks import _core, _transfer


@struct.dataclass
class NoiseInjected:
  """x_{t+1} = Proj(x_t + step_size * sign(grad J(x_t + n_t))), n_t ~ N(0, noise_std^2 I).

  The noisy point x_t + n_t is not clipped to the box: it only probes the
  gradient. noise_std = 0 is the basic iterative method (PGD without a random
  start); decay > 0 adds MI-FGSM's momentum.

  Attributes:
    eps: Linf radius (same units as the input, [0, 1]).
    step_size: size of each sign step.
    noise_std: standard deviation of the injected Gaussian noise.
    decay: momentum factor (0: none).
    steps: number of iterations (static).
    loss: per-example loss name from `jaxrobust.losses` (static).
    targeted: if True, `y` are target labels and the loss is descended (static).
    random_start: start from a uniform point of the ball (static).
  """
  eps: float = 8 / 255
  step_size: float = 2 / 255
  noise_std: float = 0.01
  decay: float = 0.0
  steps: int = struct.field(pytree_node=False, default=10)
  loss: str = struct.field(pytree_node=False, default="ce")
  targeted: bool = struct.field(pytree_node=False, default=False)
  random_start: bool = struct.field(pytree_node=False, default=False)

  def __post_init__(self):
    _core.check_static_fields(self)

  def validate(self) -> "NoiseInjected":
    """Checks the numeric hyperparameters when they are concrete; returns self."""
    _core.check_numeric_fields(self, names=("eps", "step_size", "noise_std", "decay"))
    return self

  def __call__(self, logits_fn: _core.LogitsFn, x: jax.Array, y: jax.Array, *,
               key: jax.Array | None = None) -> jax.Array:
    """Returns x_adv [batch, ...] with ||x_adv - x||_inf <= eps, inside [0, 1].

    Args:
      logits_fn: inputs [batch, ...] -> logits [batch, classes].
      x: clean inputs [batch, ...] in [0, 1].
      y: labels [batch] (targets if `targeted`).
      key: PRNG key (required: the noise is random).
    """
    loss_fn, sign = _transfer.prepare(self, x, y)
    _transfer.require_key("NoiseInjected", key)
    x_start, key = _transfer.start(self, x, key)
    noisy = lambda k, z: z + self.noise_std * jax.random.normal(k, z.shape, z.dtype)
    return _transfer.momentum_loop(
        _transfer.loss_gradient(logits_fn, loss_fn, y, sign, noisy), x, x_start,
        eps=self.eps, step_size=self.step_size, decay=self.decay, steps=self.steps, key=key)
