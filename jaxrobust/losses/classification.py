"""Per-example classification losses: logits [batch, classes], labels [batch] -> [batch].

Attacks ascend these (descend them when targeted, with `labels` the targets).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrobust import _checks

LossFn = Callable[[jax.Array, jax.Array], jax.Array]


def _check(logits, labels, min_classes: int = 1, name: str = "labels") -> None:
  """logits [batch, classes] and labels [batch] in [0, classes) (values when concrete)."""
  _checks.check_logits("logits", logits, min_classes)
  _checks.check_labels(name, labels, logits.shape[-1], logits.shape[0])


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
  """Softmax cross-entropy with integer labels, [batch]."""
  _check(logits, labels)
  return optax.softmax_cross_entropy_with_integer_labels(logits, labels)


def _true_and_best_other(logits: jax.Array, labels: jax.Array):
  """(z_y [batch], max_{j != y} z_j [batch])."""
  one_hot = jax.nn.one_hot(labels, logits.shape[-1], dtype=bool)
  true = jnp.sum(jnp.where(one_hot, logits, 0.0), axis=-1)
  other = jnp.max(jnp.where(one_hot, -jnp.inf, logits), axis=-1)
  return true, other


def cw_margin(logits: jax.Array, labels: jax.Array) -> jax.Array:
  """max_{j != y} z_j - z_y: positive iff misclassified.

  References: Carlini & Wagner, "Towards Evaluating the Robustness of Neural
  Networks", S&P 2017 (their f_6, before clipping at -kappa).
  """
  _check(logits, labels, 2)
  true, other = _true_and_best_other(logits, labels)
  return other - true


def dlr(logits: jax.Array, labels: jax.Array) -> jax.Array:
  """Difference of logits ratio, -(z_y - max_{j != y} z_j) / (z_pi1 - z_pi3).

  Invariant to shifting and rescaling the logits, so it does not saturate like
  cross-entropy on over-confident models. Needs at least 3 classes.

  References: Croce & Hein, "Reliable evaluation of adversarial robustness with
  an ensemble of diverse parameter-free attacks", ICML 2020.
  """
  _checks.check_logits("logits", logits)
  if logits.shape[-1] < 3:
    raise ValueError(f"dlr needs >= 3 classes, got {logits.shape[-1]}.")
  _check(logits, labels)
  top = jax.lax.top_k(logits, 3)[0]
  true, other = _true_and_best_other(logits, labels)
  return -(true - other) / (top[:, 0] - top[:, 2] + 1e-12)


def dlr_targeted(logits: jax.Array, labels: jax.Array, target: jax.Array) -> jax.Array:
  """Targeted DLR, -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2), [batch].

  Ascending it pushes the target logit z_t above the true one z_y; like `dlr`
  it is invariant to shifting and rescaling the logits. Needs >= 4 classes.

  Args:
    logits: [batch, classes].
    labels: true labels [batch].
    target: target labels [batch].

  References: Croce & Hein, "Reliable evaluation of adversarial robustness with
  an ensemble of diverse parameter-free attacks", ICML 2020 (Sec. 4, APGD-T).
  """
  _checks.check_logits("logits", logits)
  if logits.shape[-1] < 4:
    raise ValueError(f"dlr_targeted needs >= 4 classes, got {logits.shape[-1]}.")
  _check(logits, labels)
  _check(logits, target, name="target")
  top = jax.lax.top_k(logits, 4)[0]
  true = jnp.take_along_axis(logits, labels[:, None], axis=-1)[:, 0]
  aimed = jnp.take_along_axis(logits, target[:, None], axis=-1)[:, 0]
  return -(true - aimed) / (top[:, 0] - 0.5 * (top[:, 2] + top[:, 3]) + 1e-12)


def kl_divergence(reference_logits: jax.Array, logits: jax.Array) -> jax.Array:
  """KL(softmax(reference) || softmax(logits)) per example, [batch].

  With the clean prediction as reference this is the TRADES attack objective
  (Zhang et al., ICML 2019).
  """
  _checks.check_logits("reference_logits", reference_logits)
  if np.shape(reference_logits) != np.shape(logits):
    raise ValueError(f"reference_logits and logits must have one shape, got "
                     f"{np.shape(reference_logits)} and {np.shape(logits)}.")
  log_p = jax.nn.log_softmax(reference_logits)
  log_q = jax.nn.log_softmax(logits)
  return jnp.sum(jnp.exp(log_p) * (log_p - log_q), axis=-1)


LOSSES: dict[str, LossFn] = {"ce": cross_entropy, "dlr": dlr, "cw": cw_margin}


def get_loss(name: str) -> LossFn:
  """A per-example loss by name; unknown names raise listing the choices."""
  if name not in LOSSES:
    raise ValueError(f"Unknown loss {name!r}; valid choices: {tuple(LOSSES)}.")
  return LOSSES[name]
