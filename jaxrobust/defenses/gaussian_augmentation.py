"""Training with Gaussian data augmentation: the base classifier of randomized smoothing.

References:
  Cohen, Rosenfeld & Kolter, "Certified Adversarial Robustness via Randomized
  Smoothing", ICML 2019 (Sec. 3.3: train f on x + N(0, sigma^2 I) at the sigma
  it will be smoothed with).
"""

from __future__ import annotations

import jax
from flax import struct

from jaxrobust.defenses._base import accuracy, check_nonnegative_fields
from jaxrobust.losses import cross_entropy


@struct.dataclass
class GaussianAugmentation:
  """loss = CE(f(x + sigma * N(0, I)), y); the noise is not clipped to the box (as in
  the smoothed classifier). sigma = 0 is standard training."""
  sigma: float = 0.25

  def __post_init__(self):
    check_nonnegative_fields(self, ("sigma",))

  def __call__(self, train_logits_fn, eval_logits_fn, x, y, *, key):
    del eval_logits_fn
    noisy = x + self.sigma * jax.random.normal(key, x.shape, x.dtype)
    logits = train_logits_fn(noisy)
    return cross_entropy(logits, y), {"accuracy": accuracy(logits, y)}
