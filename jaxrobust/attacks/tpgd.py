"""TRADES' inner attack: sign ascent on KL(clean prediction || adversarial prediction).

References:
  Zhang et al., "Theoretically Principled Trade-off between Robustness and
  Accuracy", ICML 2019.
"""

from __future__ import annotations

import jax
from flax import struct

from jaxrobust.attacks import _core
from jaxrobust.attacks._base import Attack, static
from jaxrobust.losses import kl_divergence


def _kl_to_reference(logits: jax.Array, reference_logits: jax.Array) -> jax.Array:
  return kl_divergence(reference_logits, logits)


@struct.dataclass
class TPGD(Attack):
  """PGD (Linf) on KL(softmax(f(x)) || softmax(f(x_adv))), from x + 0.001 N(0, I).

  Untargeted only, and label-free: `y` is validated but unused, since the
  clean prediction (held fixed) takes the place of the label.

  Attributes:
    eps: radius of the Linf ball.
    step_size: the sign step per iteration.
    steps: number of iterations (static).
  """
  eps: float = 8 / 255
  step_size: float = 2 / 255
  steps: int = static(10)

  RANDOMIZED = "it starts from x + 0.001 N(0, I)"

  def run(self, logits_fn, x, y, key):
    """Label-free: y is checked but unused."""
    reference = jax.lax.stop_gradient(logits_fn(x))
    # At x itself the KL and its gradient vanish; the small Gaussian start
    # (TRADES' 0.001) gives the first step a direction. Steps project it away.
    start = _core.clip_to_box(x + 0.001 * jax.random.normal(key, x.shape, x.dtype))

    def step(_, x_adv):
      grad = _core.input_gradient(logits_fn, _kl_to_reference, x_adv, reference)
      x_adv = x_adv + self.step_size * _core.ascent_direction(grad, "linf")
      return _core.to_ball_and_box(x, x_adv, self.eps, "linf")

    return _core.step_loop(self.steps, step, start)
