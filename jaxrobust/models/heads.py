"""Output maps applied to a model's last-layer outputs z [batch, classes].

Each head returns values that play the role of logits: softmax of them is the
head's probability distribution, so cross-entropy, KL and every attack work
unchanged.

References:
  Kanai, Fujiwara, Yamanaka & Adachi, "Sigsoftmax: Reanalysis of the Softmax
  Bottleneck", NeurIPS 2018.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp


def identity(z: jax.Array) -> jax.Array:
  """The plain softmax output: logits = z."""
  return z


def log_sigsoftmax(z: jax.Array) -> jax.Array:
  """log of sigsoftmax(z)_i = exp(z_i) sigmoid(z_i) / sum_j exp(z_j) sigmoid(z_j).

  Computed in log space, z + log_sigmoid(z) - logsumexp(z + log_sigmoid(z)), so
  it stays finite for |z| up to the float range (log_sigmoid(-1e4) = -1e4, no
  overflow). The result is a normalised log-distribution: softmax of it is
  sigsoftmax(z) itself.
  """
  a = z + jax.nn.log_sigmoid(z)
  # Shifting by the max first keeps float32 precision when |z| is huge (the
  # result is then a difference of O(1) numbers, not of numbers near 1e4).
  a = a - jax.lax.stop_gradient(jnp.max(a, axis=-1, keepdims=True))
  return a - jax.scipy.special.logsumexp(a, axis=-1, keepdims=True)


HEADS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "identity": identity,
    "sigsoftmax": log_sigsoftmax,
}


def check_head(name: str) -> None:
  if name not in HEADS:
    raise ValueError(f"Unknown head {name!r}; valid choices: {tuple(HEADS)}.")


def apply_head(name: str, z: jax.Array) -> jax.Array:
  """The head `name` applied to last-layer outputs z [batch, classes] -> [batch, classes]."""
  check_head(name)
  return HEADS[name](z)
