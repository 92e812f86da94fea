"""Source only: cross-entropy on the labelled source domain, the target unused.

The lower baseline every adaptation method must beat on the target domain.
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import struct

from jaxrobust.adaptation._base import forward, source_cross_entropy


@struct.dataclass
class SourceOnly:
  """No adaptation: loss = mean CE(C(F(x_s)), y_s)."""

  def discriminator_dim(self, feature_dim: int, num_classes: int) -> None:
    return None

  def loss(self, net, disc, params, xs, ys, xt, *, progress, key):
    del disc, progress, key
    # The target batch goes through the net too (its features are not trained
    # on) so that every method sees the same inputs per step.
    _, logits_s, _, _ = forward(net, params, xs, xt)
    ce = source_cross_entropy(logits_s, ys)
    return ce, {"source_ce": ce, "transfer": jnp.zeros(()), "coeff": jnp.zeros(())}
