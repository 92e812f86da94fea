"""What every adaptation method receives and returns, and the pieces methods share."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

import jax
import jax.numpy as jnp
import optax

from jaxrobust import _checks
from jaxrobust.adaptation.networks import AdaptationNet, Discriminator


class Method(Protocol):
  """An unsupervised domain-adaptation objective for one pair of batches.

  `method.loss(net, disc, params, xs, ys, xt, progress=p, key=key)`:
    net: the AdaptationNet; disc: the Discriminator (None when
      `discriminator_dim` is None); params {"net": ..., "disc": ...}.
    xs [batch, h, w, c], ys int [batch]: a labelled source batch; xt
      [batch_t, h, w, c]: an unlabelled target batch (inputs in [0, 1]).
    progress: training progress in [0, 1] (a traced scalar: the adaptation
      weight's schedule); key: PRNG key.
  Returns (loss: a scalar, metrics: dict of scalars). The objective is a
  scalar, not per-example values: its discriminator and discrepancy terms are
  statistics of two batches of different domains.
  """

  def discriminator_dim(self, feature_dim: int, num_classes: int) -> int | None:
    ...

  def loss(self, net: AdaptationNet, disc: Discriminator | None, params: Any, xs: jax.Array,
           ys: jax.Array, xt: jax.Array, *, progress: jax.Array, key: jax.Array
           ) -> tuple[jax.Array, dict[str, jax.Array]]:
    ...


class NonNegativeFields:
  """Checks, at construction, that the fields named in NONNEGATIVE are finite and >= 0."""
  NONNEGATIVE: ClassVar[tuple[str, ...]] = ()

  def __post_init__(self):
    for name in self.NONNEGATIVE:
      _checks.check_number(f"{type(self).__name__}.{name}", getattr(self, name), low=0)


def forward(net: AdaptationNet, params: Any, xs: jax.Array, xt: jax.Array
            ) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
  """(features_s [B, d], logits_s [B, C], features_t [B_t, d], logits_t [B_t, C]) from one
  pass over both batches."""
  _checks.check_ndim("xs", xs, ("batch", "height", "width", "channels"))
  _checks.check_ndim("xt", xt, ("batch", "height", "width", "channels"))
  _checks.check_unit_images("xs", xs)
  _checks.check_unit_images("xt", xt)
  if not xs.shape[0] or not xt.shape[0]:
    raise ValueError(f"a step needs source and target examples, got batches of "
                     f"{xs.shape[0]} and {xt.shape[0]}.")
  if xs.shape[1:] != xt.shape[1:]:
    raise ValueError(f"source and target images must have one shape, got {xs.shape[1:]} "
                     f"and {xt.shape[1:]}: bring both domains to one resolution.")
  variables = {"params": params["net"]}
  features = net.apply(variables, jnp.concatenate([xs, xt]), method=AdaptationNet.embed)
  logits = net.apply(variables, features, method=AdaptationNet.classify)
  n = xs.shape[0]
  return features[:n], logits[:n], features[n:], logits[n:]


def source_cross_entropy(logits_s: jax.Array, ys: jax.Array) -> jax.Array:
  """Mean cross-entropy of the labelled source batch (a scalar)."""
  _checks.check_labels("ys", ys, logits_s.shape[1], batch=logits_s.shape[0])
  return optax.softmax_cross_entropy_with_integer_labels(logits_s, ys).mean()


def domain_loss(disc: Discriminator, disc_params: Any, hs: jax.Array, ht: jax.Array,
                weights_s: jax.Array | None = None, weights_t: jax.Array | None = None
                ) -> jax.Array:
  """The discriminator's binary cross-entropy, source = 1 and target = 0: the mean of each
  domain's (weighted) mean, so that either domain counts half whatever its batch size.

  hs [B, k], ht [B_t, k]: the discriminator's inputs (already passed through
  the gradient reversal layer); weights [B] / [B_t]: per-example weights
  (CDAN+E), normalized within each domain.
  """
  logits = disc.apply({"params": disc_params}, jnp.concatenate([hs, ht]))
  n = hs.shape[0]
  bce_s = optax.sigmoid_binary_cross_entropy(logits[:n], jnp.ones_like(logits[:n]))
  bce_t = optax.sigmoid_binary_cross_entropy(logits[n:], jnp.zeros_like(logits[n:]))
  if weights_s is None:
    return 0.5 * (bce_s.mean() + bce_t.mean())
  return 0.5 * (jnp.sum(weights_s * bce_s) / jnp.sum(weights_s)
                + jnp.sum(weights_t * bce_t) / jnp.sum(weights_t))


def domain_accuracy(disc: Discriminator, disc_params: Any, hs: jax.Array,
                    ht: jax.Array) -> jax.Array:
  """How often the discriminator tells the domains apart (0.5: confused)."""
  logits = disc.apply({"params": disc_params}, jnp.concatenate([hs, ht]))
  n = hs.shape[0]
  return 0.5 * ((logits[:n] > 0).mean() + (logits[n:] <= 0).mean())
