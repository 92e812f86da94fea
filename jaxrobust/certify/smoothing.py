"""Randomized smoothing: a certified L2 radius for the Gaussian-smoothed classifier.

The smoothed classifier g(x) = argmax_c P(f(x + delta) = c), delta ~ N(0, sigma^2 I),
of a base classifier f (any `logits_fn`, taken by its argmax) is robust at x within
the L2 radius sigma * Phi^-1(p_A), p_A = P(f(x + delta) = g(x)) (Cohen et al.,
Thm. 1, for p_A >= 1/2 with p_B <= 1 - p_A). p_A is estimated by Monte Carlo:

  smoothed_counts  class counts [batch, classes] of f on `num` noisy copies, drawn in
                   batches (lax.scan); pure, jittable (num and batch_size static)
  smoothed_predict PREDICT: the top class, or ABSTAIN when a two-sided binomial test
                   of the top two counts cannot reject equality at level alpha
  smoothed_certify CERTIFY: the top class of n0 selection draws, its Clopper-Pearson
                   lower bound p_lower from n fresh draws (level 1 - alpha), radius
                   sigma * Phi^-1(p_lower); ABSTAIN when p_lower < 1/2
  smoothed_curve   fraction certified correct with radius >= r, for each r

Each returned certificate holds with probability >= 1 - alpha over the noise.
The noise is not clipped to the input box: g is defined by Gaussian noise in
the input space itself, as in the paper. The statistics run on the host (scipy).

References:
  Cohen, Rosenfeld & Kolter, "Certified Adversarial Robustness via Randomized
  Smoothing", ICML 2019 (Thm. 1; PREDICT and CERTIFY, Sec. 3.2).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from jaxrobust import _checks

ABSTAIN = -1


class SmoothedCertificate(NamedTuple):
  """CERTIFY's answer per example: prediction [batch] (ABSTAIN = -1), radius [batch]
  (L2, 0 where abstained), p_lower [batch] (the lower confidence bound of p_A),
  count [batch] (n_A: the estimation draws on which f picked the selected class)."""
  prediction: np.ndarray
  radius: np.ndarray
  p_lower: np.ndarray
  count: np.ndarray


def _check_x(x) -> None:
  if jnp.ndim(x) < 2 or not jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating):
    raise ValueError(f"x must be a float array [batch, ...], got shape {tuple(jnp.shape(x))} "
                     f"and dtype {jnp.asarray(x).dtype}.")


def _check_common(x, sigma, alpha, batch_size) -> None:
  _check_x(x)
  _checks.check_real("sigma", sigma, low=0, low_open=True)
  _checks.check_real("alpha", alpha, low=0, low_open=True, high=1)
  if alpha == 1:
    raise ValueError(f"alpha must lie in (0, 1) (the failure probability), got {alpha!r}.")
  _checks.check_int_at_least("batch_size", batch_size, 1)


def smoothed_counts(logits_fn: Callable[[jax.Array], jax.Array], x: jax.Array, *, sigma,
                    num, key: jax.Array, batch_size: int = 128) -> jax.Array:
  """How often f(x + delta) picks each class over `num` draws: int32 [batch, classes].

  x [batch, ...]; batch_size noisy copies of every example go through logits_fn
  per step (memory: batch * batch_size examples; static); step i draws its noise
  from fold_in(key, i). num may be traced: n0 and n share one compiled program.
  """
  _check_x(x)
  if not isinstance(num, jax.core.Tracer):
    _checks.check_int_at_least("num", num, 1)
  _checks.check_int_at_least("batch_size", batch_size, 1)
  classes = jax.eval_shape(logits_fn, x[:1]).shape[-1]

  def body(i, counts):
    noise = jax.random.normal(jax.random.fold_in(key, i), (batch_size,) + x.shape, x.dtype)
    noisy = (x[None] + sigma * noise).reshape((-1,) + x.shape[1:])
    top = logits_fn(noisy).argmax(-1).reshape(batch_size, x.shape[0])
    valid = i * batch_size + jnp.arange(batch_size) < num  # the last step may overshoot num
    hits = jax.nn.one_hot(top, classes, dtype=jnp.int32) * valid[:, None, None]
    return counts + hits.sum(0)

  counts = jnp.zeros((x.shape[0], classes), jnp.int32)
  return jax.lax.fori_loop(0, (num + batch_size - 1) // batch_size, body, counts)


_counts = jax.jit(smoothed_counts, static_argnames=("logits_fn", "batch_size"))


def _sample(logits_fn, x, sigma, num, key, batch_size) -> np.ndarray:
  """smoothed_counts, jitted (one program per logits_fn, shape and batch_size), on the host."""
  return np.asarray(_counts(logits_fn, x, sigma=sigma, num=num, key=key,
                            batch_size=batch_size))


def clopper_pearson(successes, trials, alpha):
  """One-sided Clopper-Pearson bounds (lower, upper), each at level 1 - alpha: the
  `beta` method of statsmodels' proportion_confint at 2 * alpha."""
  _checks.check_real("alpha", alpha, low=0, low_open=True, high=1)
  if not 0 < alpha < 1:
    raise ValueError(f"alpha must lie in (0, 1) (the failure probability), got {alpha!r}.")
  k, n = np.asarray(successes, np.float64), np.asarray(trials, np.float64)
  _checks.check_array_range("trials", n, 0)
  _checks.check_array_range("successes", k, 0)
  if np.any(k > n):
    raise ValueError(f"successes must be <= trials, got successes {k.max()!r} > trials "
                     f"{n.min()!r}.")
  lower = np.where(k > 0, stats.beta.ppf(alpha, np.maximum(k, 1), n - k + 1), 0.0)
  upper = np.where(k < n, stats.beta.ppf(1 - alpha, k + 1, np.maximum(n - k, 1)), 1.0)
  return lower, upper


def smoothed_predict(logits_fn, x, *, sigma, n: int, alpha: float, key: jax.Array,
            batch_size: int = 128) -> np.ndarray:
  """PREDICT: g(x) [batch] (int), ABSTAIN where the top two counts n_A, n_B of n draws
  do not differ at level alpha (two-sided binomial test of n_A of n_A + n_B at 1/2).
  A returned class is g(x) with probability >= 1 - alpha."""
  _check_common(x, sigma, alpha, batch_size)
  _checks.check_int_at_least("n", n, 1)
  counts = _sample(logits_fn, x, sigma, n, key, min(batch_size, n))
  order = np.argsort(-counts, axis=-1, kind="stable")
  n_a = np.take_along_axis(counts, order[:, :1], -1)[:, 0]
  n_b = np.take_along_axis(counts, order[:, 1:2], -1)[:, 0] if counts.shape[1] > 1 else 0 * n_a
  # Two-sided p-value at p = 1/2 with n_A >= n_B: 2 P(X >= n_A), X ~ Bin(n_A + n_B, 1/2).
  p_value = np.minimum(1.0, 2 * stats.binom.sf(n_a - 1, n_a + n_b, 0.5))
  return np.where(p_value <= alpha, order[:, 0], ABSTAIN)


def smoothed_certify(logits_fn, x, *, sigma, n0: int, n: int, alpha: float, key: jax.Array,
            batch_size: int = 128) -> SmoothedCertificate:
  """CERTIFY: c_A from n0 draws, p_lower of p_A from n independent draws, the L2
  radius sigma * Phi^-1(p_lower) (ABSTAIN and radius 0 where p_lower < 1/2).

  x [batch, ...]; sigma > 0; 1 <= n0 < n; alpha in (0, 1). With probability
  >= 1 - alpha (per example), g is c_A on the whole L2 ball of that radius.
  """
  _check_common(x, sigma, alpha, batch_size)
  _checks.check_int_at_least("n0", n0, 1)
  _checks.check_int_at_least("n", n, 1)
  if n0 >= n:
    raise ValueError(f"n0 (selection draws) must be < n (estimation draws), got n0={n0}, "
                     f"n={n}.")
  select_key, estimate_key = jax.random.split(key)
  # One program for both: n0 < n, so batch_size is capped by n alone.
  batch_size = min(batch_size, n)
  top = _sample(logits_fn, x, sigma, n0, select_key, batch_size).argmax(-1)
  counts = _sample(logits_fn, x, sigma, n, estimate_key, batch_size)
  n_a = counts[np.arange(len(top)), top]
  p_lower = clopper_pearson(n_a, n, alpha)[0]
  ok = p_lower >= 0.5
  radius = np.where(ok, float(sigma) * stats.norm.ppf(np.where(ok, p_lower, 0.5)), 0.0)
  return SmoothedCertificate(np.where(ok, top, ABSTAIN), radius, p_lower, n_a)


def smoothed_curve(certificate: SmoothedCertificate, y, radii) -> np.ndarray:
  """Certified accuracy at each L2 radius r: the fraction [len(radii)] of examples
  predicted correctly with radius >= r."""
  y = np.asarray(y)
  _checks.check_labels("y", y, batch=len(certificate.prediction))
  radii = np.asarray(radii, np.float64)
  if radii.ndim != 1:
    raise ValueError(f"radii must be a 1-D sequence, got shape {radii.shape}.")
  _checks.check_number("radii", radii, low=0)
  good = certificate.prediction == y
  return np.mean(good[None] & (certificate.radius[None] >= radii[:, None]), axis=1)

