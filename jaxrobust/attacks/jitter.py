"""The Jitter attack: Linf PGD on a noisy, scale-invariant squared error.

References:
  Schwinn et al., "Exploring Misclassifications of Robust Neural Networks to
  Enhance Adversarial Attacks", arXiv:2105.10304, 2021.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust import _checks
from jaxrobust.attacks import _core
from jaxrobust.attacks._base import Attack, static


def jitter_loss(logits: jax.Array, labels: jax.Array, noise: jax.Array,
                scale: jax.Array) -> jax.Array:
  """||softmax(scale * z / ||z||_inf) + noise - onehot(y)||^2 / classes, [batch].

  Dividing the logits by their Linf norm makes the softmax temperature fixed by
  `scale` alone, so over-confident logits do not saturate it; the noise
  [batch, classes] (Gaussian "jitter") perturbs which class the attack pushes
  towards.
  """
  _checks.check_logits("logits", logits)
  _checks.check_labels("labels", labels, logits.shape[-1], batch=logits.shape[0])
  _checks.check_number("scale", scale, low=0)
  size = jnp.maximum(jnp.max(jnp.abs(logits), axis=-1, keepdims=True), 1e-12)
  probs = jax.nn.softmax(scale * logits / size) + noise
  one_hot = jax.nn.one_hot(labels, logits.shape[-1], dtype=logits.dtype)
  return jnp.mean((probs - one_hot) ** 2, axis=-1)


@struct.dataclass
class Jitter(Attack):
  """Linf PGD ascending `jitter_loss`, divided by ||x_adv - x||_inf where already misclassified.

  The division (untargeted mode only) rewards a smaller perturbation once a
  point is misclassified. In targeted mode `y` are the targets and the loss is
  descended without it: success there is about the target, not the label.

  Attributes:
    eps: radius of the Linf ball.
    step_size: the sign step per iteration.
    scale: softmax scale of the Linf-normalised logits.
    std: standard deviation of the Gaussian noise added to the softmax.
    steps: number of iterations (static).
    random_start: start from a uniform point of the ball (static).
    targeted: if True, `y` are target labels and the loss is descended (static).
  """
  eps: float = 8 / 255
  step_size: float = 2 / 255
  scale: float = 10.0
  std: float = 0.1
  steps: int = static(10)
  random_start: bool = static(True)
  targeted: bool = static(False)

  NONNEGATIVE = ("eps", "step_size", "scale", "std")
  RANDOMIZED = "it draws noise every step"

  def run(self, logits_fn, x, y, key):
    """Linf ball of radius eps."""
    start_key, noise_key = jax.random.split(key)
    classes = jax.eval_shape(logits_fn, x).shape[-1]

    def objective(x_adv, noise):
      logits = logits_fn(x_adv)
      loss = jitter_loss(logits, y, noise, self.scale)
      if self.targeted:
        return -jnp.sum(loss)
      r = _core.norm(x_adv - x, "linf")
      divide = (jnp.argmax(logits, axis=-1) != y) & (r > 0)
      # The inner where keeps the untaken branch finite, hence its gradient.
      return jnp.sum(jnp.where(divide, loss / jnp.where(divide, r, 1.0), loss))

    def step(t, x_adv):
      noise = self.std * jax.random.normal(jax.random.fold_in(noise_key, t),
                                           (x.shape[0], classes), x.dtype)
      grad = jax.grad(objective)(x_adv, noise)
      x_adv = x_adv + self.step_size * _core.ascent_direction(grad, "linf")
      return _core.to_ball_and_box(x, x_adv, self.eps, "linf")

    x_adv = (_core.random_start(start_key, x, self.eps, "linf")
             if self.random_start else x)
    return _core.step_loop(self.steps, step, x_adv)
