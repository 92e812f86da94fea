"""Reconstruction error, a stable log(1 - exp(-a)), and the per-example anomaly losses.

References:
  Yamanaka, Iwata, Takahashi, Yamada & Kanai, "Autoencoding Binary Classifiers
  for Supervised Anomaly Detection", PRICAI 2019 (arXiv:1903.10709): ABC.
  Ruff et al., "Deep Semi-Supervised Anomaly Detection", ICLR 2020: Deep SAD.
  Maechler, "Accurately Computing log(1 - exp(-|a|))", CRAN Rmpfr note, 2012.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import _checks

REDUCTIONS = ("sum", "mean")
_LOG2 = 0.6931471805599453


def check_reduction(reduction: str) -> None:
  if reduction not in REDUCTIONS:
    raise ValueError(f"Unknown reduction {reduction!r}; valid choices: {REDUCTIONS}.")


def _check_labelled(values_name: str, values, y) -> None:
  """y: 0 (normal) / 1 (known anomaly) of values' shape, values >= 0 (concrete values
  checked: a label 2 would be scored as normal, and A(x) < 0 makes the anomaly term NaN)."""
  if np.shape(values) != np.shape(y):
    raise ValueError(f"{values_name} and labels differ in shape: {np.shape(values)} vs "
                     f"{np.shape(y)}.")
  _checks.check_binary_mask("y (0 normal, 1 known anomaly)", y)
  _checks.check_array_range(values_name, values, low=0.0)


def reconstruction_error(x: jax.Array, x_hat: jax.Array, reduction: str = "sum") -> jax.Array:
  """A(x): squared error of each example [batch, ...] -> [batch].

  "sum" is the squared Euclidean norm ||x - x_hat||^2 that ABC writes; "mean"
  divides it by the input dimension (784 on MNIST). The choice is not a
  detail: p(normal | x) = exp(-A(x)) reads A on an absolute scale (see
  `abc_loss`).
  """
  check_reduction(reduction)
  if np.ndim(x) < 1:
    raise ValueError(f"x must be a batch [batch, ...], got shape {np.shape(x)}.")
  if x.shape != x_hat.shape:
    raise ValueError(f"x and its reconstruction differ in shape: {x.shape} vs {x_hat.shape}.")
  sq = jnp.square(x - x_hat).reshape(x.shape[0], -1)
  return sq.sum(-1) if reduction == "sum" else sq.mean(-1)


def log1mexp(a: jax.Array) -> jax.Array:
  """log(1 - exp(-a)) for a >= 0, accurate at both ends (Maechler 2012).

  Near 0, 1 - exp(-a) cancels: log(-expm1(-a)) keeps its digits; for large a,
  exp(-a) underflows relative to 1: log1p(-exp(-a)) keeps them. The switch
  at log 2 is where both are accurate. Each branch sees an argument safe for
  it, so the unused branch puts no NaN into the gradient.
  """
  _checks.check_array_range("a", a, low=0.0)
  small = a < _LOG2
  a_small = jnp.where(small, a, _LOG2)
  a_large = jnp.where(small, _LOG2, a)
  return jnp.where(small, jnp.log(-jnp.expm1(-a_small)), jnp.log1p(-jnp.exp(-a_large)))


def abc_loss(a: jax.Array, y: jax.Array) -> jax.Array:
  """ABC's negative log-likelihood per example [batch]: -log p(y | x).

  p(y = 0 (normal) | x) = exp(-A(x)), so a normal point costs A(x) (the
  autoencoder's own loss) and a known anomaly (y = 1) costs
  -log(1 - exp(-A(x))), which falls as A grows: the autoencoder is trained to
  fail on anomalies. The anomaly term's gradient, -1 / (exp(A) - 1), is about
  -1/A for small A and vanishes once A is a few units: the scale of A (sum or
  mean over pixels) decides whether the push on anomalies saturates.

  a: A(x) >= 0 [batch]; y: 0 normal / 1 anomaly [batch].
  """
  _check_labelled("A(x)", a, y)
  return jnp.where(y == 1, -log1mexp(a), a)


def normal_probability(a: jax.Array) -> jax.Array:
  """p(normal | x) = exp(-A(x)) [batch]."""
  _checks.check_array_range("A(x)", a, low=0.0)
  return jnp.exp(-a)


def deep_sad_loss(sq_dist: jax.Array, y: jax.Array, eta: float, eps: float = 1e-6) -> jax.Array:
  """Deep SAD's per-example loss [batch] (Ruff et al. 2020, eq. 4).

  Unlabeled points (y = 0, here the normal training data) cost their squared
  distance to the centre; labeled anomalies (y = 1) cost eta times its inverse,
  1 / (dist + eps), so they are pushed away from the centre.
  """
  _check_labelled("sq_dist (squared distances)", sq_dist, y)
  _checks.check_number("eta", eta, low=0, low_open=True)
  _checks.check_number("eps", eps, low=0, low_open=True)
  return jnp.where(y == 1, eta / (sq_dist + eps), sq_dist)
