"""Closed forms of Lp adversarial losses for binary linear classifiers.

For f(x) = w.x + b, labels y in {-1, +1}, and any loss l(m) that is
non-increasing in the margin m = y f(x), the inner maximisation of adversarial
training over the Lp ball of radius eps is solved by Hoelder's inequality:

  max_{||d||_p <= eps} l(y (w.(x + d) + b)) = l(y (w.x + b) - eps ||w||_q),

with 1/p + 1/q = 1, attained at d* = -y eps v(w), where v(w) is the unit-Lp
vector with v.w = ||w||_q (sign(w) for p = inf, w / ||w||_2 for p = 2, a signed
basis vector at argmax |w_k| for p = 1, and sign(w) |w|^(q-1) / ||w||_q^(q-1)
in general). The input box [0, 1] is ignored: this is the unboxed attack.

References: Kanai, Yamada, Takahashi, Yamanaka, Ida, "Smoothness Analysis of
Adversarial Training", arXiv:2103.01400 (2021), Sec. 4 (binary linear
classification); Yamada, Kanai, Iwata et al., "Adversarial Training Makes
Weight Loss Landscape Sharper in Logistic Regression", arXiv:2102.02950 (2021).
"""

from __future__ import annotations

import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import _checks

NAMED_NORMS = {"linf": math.inf, "l2": 2.0, "l1": 1.0}
LINEAR_LOSSES = ("logistic", "hinge")


def norm_exponent(p) -> float:
  """p as a float in [1, inf]; accepts 1, 2, inf, "l1", "l2", "linf" or any p >= 1."""
  if isinstance(p, str):
    if p.lower() not in NAMED_NORMS:
      raise ValueError(f"Unknown norm {p!r}; valid: {sorted(NAMED_NORMS)} or a "
                       "number p >= 1.")
    return NAMED_NORMS[p.lower()]
  try:
    value = float(p)
  except (TypeError, ValueError):
    raise ValueError(f"norm p must be a number >= 1 or one of "
                     f"{sorted(NAMED_NORMS)}; got {p!r}.") from None
  if not value >= 1.0:  # also rejects NaN
    raise ValueError(f"norm p must be >= 1 (an Lp ball is convex only then); "
                     f"got {p!r}.")
  return value


def dual_exponent(p) -> float:
  """q with 1/p + 1/q = 1: inf for p = 1, 1 for p = inf."""
  p = norm_exponent(p)
  if p == 1.0:
    return math.inf
  if math.isinf(p):
    return 1.0
  return p / (p - 1.0)


def lp_norm(v: jax.Array, p) -> jax.Array:
  """||v||_p over the last axis: [..., d] -> [...]."""
  p = norm_exponent(p)
  a = jnp.abs(v)
  if math.isinf(p):
    return jnp.max(a, axis=-1)
  if p == 1.0:
    return jnp.sum(a, axis=-1)
  if p == 2.0:
    return jnp.sqrt(jnp.sum(a * a, axis=-1))
  # Scaling by the max keeps |v|^p in range for large p.
  scale = jnp.max(a, axis=-1, keepdims=True)
  safe = jnp.where(scale > 0, scale, 1.0)
  return jnp.squeeze(safe, -1) * jnp.sum((a / safe) ** p, axis=-1) ** (1.0 / p)


def dual_norm(w: jax.Array, p) -> jax.Array:
  """||w||_q, q the dual exponent of p: the worst change of w.x over the unit Lp ball."""
  return lp_norm(w, dual_exponent(p))


def check_eps(eps, name: str = "eps") -> None:
  """Raises ValueError for a negative or non-finite value when it is concrete."""
  _checks.check_number(name, eps, low=0)


def _check_values_in(name: str, values, allowed: tuple, text: str) -> None:
  """Concrete values must all be in `allowed` (described by text)."""
  arr = _checks.concrete_value(values)
  if arr is not None and not np.all(np.isin(arr, allowed)):
    raise ValueError(f"{name} must be {text}, got values {np.unique(arr)[:5].tolist()}.")


def check_labels(y) -> None:
  """Raises ValueError unless the (concrete) labels are all -1 or +1."""
  _checks.check_signed_labels("y", y)


def check_linear_data(w, x, y) -> None:
  """w [d], x [n, d], y [n] (static shapes, so also under jit)."""
  _checks.check_ndim("w", w, ("d",))
  _checks.check_ndim("x", x, ("n", "d"))
  if np.shape(x)[1] != np.shape(w)[0]:
    raise ValueError(f"x must be [n, d] with d = len(w) = {np.shape(w)[0]}, got shape "
                     f"{np.shape(x)}.")
  _checks.check_same_length(x=x, y=y)


def to_signed_labels(labels: jax.Array) -> jax.Array:
  """{0, 1} -> {-1., +1.}."""
  _check_values_in("labels", labels, (0, 1), "0 or 1")
  return 2.0 * jnp.asarray(labels, jnp.float32) - 1.0


def margin(w: jax.Array, b, x: jax.Array, y: jax.Array) -> jax.Array:
  """y (w.x + b): w [d], b scalar, x [n, d], y [n] in {-1, +1} -> [n]."""
  check_linear_data(w, x, y)
  check_labels(y)
  return y * (x @ w + b)


def adversarial_margin(w: jax.Array, b, x: jax.Array, y: jax.Array, eps,
                       p) -> jax.Array:
  """The worst margin over the Lp ball: y (w.x + b) - eps ||w||_q, [n]."""
  check_eps(eps)
  return margin(w, b, x, y) - eps * dual_norm(w, p)


def logistic(m: jax.Array) -> jax.Array:
  """log(1 + exp(-m)), computed stably."""
  return jax.nn.softplus(-m)


def hinge(m: jax.Array) -> jax.Array:
  """max(0, 1 - m)."""
  return jax.nn.relu(1.0 - m)


def margin_loss(name: str) -> Callable[[jax.Array], jax.Array]:
  """The margin loss called `name` ("logistic" or "hinge")."""
  if name not in LINEAR_LOSSES:
    raise ValueError(f"Unknown margin loss {name!r}; valid: {LINEAR_LOSSES}.")
  return {"logistic": logistic, "hinge": hinge}[name]


def adversarial_logistic_loss(w, b, x, y, eps, p) -> jax.Array:
  """max_{||d||_p <= eps} log(1 + exp(-y (w.(x + d) + b))) per example, [n]."""
  check_labels(y)
  return logistic(adversarial_margin(w, b, x, y, eps, p))


def adversarial_hinge_loss(w, b, x, y, eps, p) -> jax.Array:
  """max_{||d||_p <= eps} max(0, 1 - y (w.(x + d) + b)) per example, [n]."""
  check_labels(y)
  return hinge(adversarial_margin(w, b, x, y, eps, p))


def steepest_unit_vector(w: jax.Array, p) -> jax.Array:
  """v in the unit Lp ball maximising v.w (so v.w = ||w||_q): w [d] -> [d].

  At w = 0 (every v is optimal) and, for p = 1, at ties of max |w_k|, one
  maximiser is picked: 0 and the first maximal coordinate.
  """
  _checks.check_ndim("w", w, ("d",))
  p = norm_exponent(p)
  if math.isinf(p):
    return jnp.sign(w)
  if p == 1.0:
    k = jnp.argmax(jnp.abs(w))
    return jnp.sign(w[k]) * jax.nn.one_hot(k, w.shape[-1], dtype=w.dtype)
  q = dual_exponent(p)
  a = jnp.abs(w)
  scale = jnp.max(a)
  safe = jnp.where(scale > 0, scale, 1.0)
  # Hoelder equality: |v_k|^p proportional to |w_k|^q; in units of max |w|.
  r = (a / safe) ** (q - 1.0)
  return jnp.sign(w) * r / jnp.maximum(lp_norm(r, p), 1e-30)


def optimal_perturbation(w: jax.Array, y: jax.Array, eps, p) -> jax.Array:
  """d* = -y eps v(w), the worst Lp perturbation for every example: [n, d].

  It minimises the margin y (w.(x + d) + b) over ||d||_p <= eps, and so
  maximises every loss non-increasing in the margin (logistic, hinge).
  """
  check_eps(eps)
  _checks.check_ndim("w", w, ("d",))
  _checks.check_ndim("y", y, ("n",))
  check_labels(y)
  return -(y[:, None] * eps) * steepest_unit_vector(w, p)[None, :]


def two_class_logits_fn(w: jax.Array, b) -> Callable[[jax.Array], jax.Array]:
  """A `logits_fn` for the linear model: x [n, ...] -> [-(f)/2, f/2] [n, 2].

  Softmax cross-entropy of these logits with label (y + 1) / 2 equals the
  logistic loss log(1 + exp(-y f)), so attacks on this function attack the
  linear model.
  """
  _checks.check_ndim("w", w, ("d",))

  def logits_fn(x):
    x = x.reshape(x.shape[0], -1)
    if x.shape[1] != w.shape[0]:
      raise ValueError(f"x must have d = len(w) = {w.shape[0]} features per example, "
                       f"got {x.shape[1]}.")
    f = x @ w + b
    return jnp.stack([-f / 2, f / 2], axis=-1)
  return logits_fn
