"""Noise-injected iterative FGSM: the gradient of each step is taken at a noisy copy
of the iterate, so the perturbation does not overfit the source model.

References:
  Kim, Park & Lee, "Generating Transferable Adversarial Examples for Speech
  Classification", Pattern Recognition 137, 2023.

Caveat, and the exact source of the rule: the paper's text (and any code of
the authors') was not available to this project (searched again for issue 15).
The rule comes from this project's issue 3 ("Attacks I"), which describes the
attack as "Gaussian noise added to the input at every gradient-ascent step to
make adversarial examples transfer". What that sentence leaves open was chosen
here: the noise is N(0, noise_std^2) per coordinate, drawn afresh at each step;
it is added to the iterate x_t only to take the gradient, and the sign step is
applied to the clean iterate x_t, projected as in I-FGSM / MI-FGSM.
"""

from __future__ import annotations

import jax
from flax import struct

from jaxrobust.attacks import _transfer
from jaxrobust.attacks._transfer import MomentumIterative


@struct.dataclass
class NoiseInjected(MomentumIterative):
  """x_{t+1} = Proj(x_t + step_size * sign(grad J(x_t + n_t))), n_t ~ N(0, noise_std^2 I).

  The noisy point x_t + n_t is not clipped to the box: it only probes the
  gradient. noise_std = 0 is the basic iterative method (PGD without a random
  start); decay > 0 adds MI-FGSM's momentum.

  Attributes: those of `MomentumIterative` (decay 0: none), and
    noise_std: standard deviation of the injected Gaussian noise.
  """
  decay: float = 0.0
  noise_std: float = 0.01

  NONNEGATIVE = MomentumIterative.NONNEGATIVE + ("noise_std",)
  RANDOMIZED = "the injected noise is random"

  def gradient(self, logits_fn, loss_fn, y, sign):
    noisy = lambda k, z: z + self.noise_std * jax.random.normal(k, z.shape, z.dtype)
    return _transfer.loss_gradient(logits_fn, loss_fn, y, sign, noisy)
