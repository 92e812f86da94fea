"""Missingness generators: MCAR, MAR and three MNAR mechanisms, deterministic from a key.

`missing_mask(x, rate, mechanism, key=...)` returns a bool mask [n, d], True
where an entry is removed, with `rate` the overall fraction of missing entries:

  mcar            every entry independently with probability rate.
  mar             a random obs_fraction of the columns is always observed; every
                  other column is missing with probability sigmoid(x_obs @ w + b_j)
                  (logistic on the observed columns only), w ~ U(0, 1) scaled so the
                  logit has unit standard deviation, b_j solved so the column's
                  expected rate is rate * d / (number of maskable columns).
  mnar_logistic   logistic on a random obs_fraction of "input" columns for the
                  other columns, and the inputs themselves missing completely at
                  random: missingness depends on values that may be missing.
  mnar_self_mask  each entry missing with probability sigmoid((x_ij - mean_j) /
                  std_j + b_j): depends on the missing value itself (large values
                  go missing more often).
  mnar_quantile   censoring: in each column the largest round(rate * n) values go
                  missing (ties broken at random); cut="lower" the smallest,
                  "both" half from each tail.

The logistic mechanisms follow the definitions of the R-miss-tastic amputation
code as used by hyperimpute's benchmark (`simulate.py`: MAR_mask,
MNAR_mask_logistic, MNAR_self_mask_logistic, MNAR_mask_quantiles), with one
change: `rate` is the overall fraction of missing entries (hyperimpute's MAR
rate counts only the maskable columns), and quantile censoring is exact.

References: Rubin, "Inference and missing data", Biometrika 1976 (MCAR/MAR/
MNAR); Muzellec et al., "Missing Data Imputation using Optimal Transport",
ICML 2020 (the logistic and quantile mechanisms); Jarrett et al.,
"HyperImpute", ICML 2022 (the benchmark protocol).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import _checks

MECHANISMS = ("mcar", "mar", "mnar_logistic", "mnar_self_mask", "mnar_quantile")
CUTS = ("upper", "lower", "both")
RATES = (0.2, 0.5, 0.8)  # the rates of the benchmark


def _check_x(x) -> np.ndarray:
  arr = np.asarray(x)
  if arr.ndim != 2 or 0 in arr.shape:
    raise ValueError(f"x must be a non-empty [examples, features] array, got shape "
                     f"{arr.shape}.")
  if not np.issubdtype(arr.dtype, np.number) or not np.all(np.isfinite(arr)):
    raise ValueError("x must be the complete data: finite numbers, no NaN (the mask "
                     "makes the missing entries).")
  return arr


def _check_key(key) -> None:
  if not (isinstance(key, jax.Array) and (jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
                                          or key.shape == (2,))):
    raise TypeError(f"key must be a JAX PRNG key (jax.random.key(seed)), got {key!r}.")


def _intercepts(logits: jax.Array, target: jax.Array) -> jax.Array:
  """b [d] with mean_i sigmoid(logits[i, j] + b_j) = target, by 60 bisection steps."""
  def body(_, bounds):
    lo, hi = bounds
    mid = (lo + hi) / 2
    too_high = jnp.mean(jax.nn.sigmoid(logits + mid), axis=0) > target
    return jnp.where(too_high, lo, mid), jnp.where(too_high, mid, hi)
  d = logits.shape[1]
  lo, hi = jax.lax.fori_loop(0, 60, body, (jnp.full((d,), -50.0), jnp.full((d,), 50.0)))
  return (lo + hi) / 2


def _standardize(x: jax.Array) -> jax.Array:
  std = jnp.std(x, axis=0)
  return (x - jnp.mean(x, axis=0)) / jnp.where(std > 0, std, 1.0)


def _logistic_on(x_in: jax.Array, target: float, d_out: int, key: jax.Array) -> jax.Array:
  """Probabilities [n, d_out]: sigmoid of random positive weights on x_in, unit-std logits."""
  w = jax.random.uniform(key, (x_in.shape[1], d_out))
  logits = x_in @ w
  std = jnp.std(logits, axis=0)
  logits = logits / jnp.where(std > 0, std, 1.0)
  return jax.nn.sigmoid(logits + _intercepts(logits, target))


@functools.partial(jax.jit, static_argnames=("mechanism", "d_in", "cut"))
def _mask(x, rate, key, *, mechanism: str, d_in: int, cut: str) -> jax.Array:
  n, d = x.shape
  k_cols, k_w, k_bern = jax.random.split(key, 3)
  u = jax.random.uniform(k_bern, (n, d))
  if mechanism == "mcar":
    return u < rate
  if mechanism == "mnar_self_mask":
    z = _standardize(x)
    return u < jax.nn.sigmoid(z + _intercepts(z, rate))
  if mechanism == "mnar_quantile":
    # Rank every column with a random tie-break, then censor the chosen tail.
    order = jnp.lexsort((jax.random.uniform(k_w, (n, d)), x), axis=0)
    ranks = jnp.argsort(order, axis=0)  # 0 = smallest
    k = jnp.round(rate * n).astype(jnp.int32)
    if cut == "upper":
      return ranks >= n - k
    if cut == "lower":
      return ranks < k
    low = k // 2
    return (ranks < low) | (ranks >= n - (k - low))
  # mar / mnar_logistic: `d_in` input columns drive the others through a logistic model.
  perm = jax.random.permutation(k_cols, d)
  inputs, others = perm[:d_in], perm[d_in:]
  if mechanism == "mar":
    target = rate * d / (d - d_in)
  else:
    target = rate
  probs = _logistic_on(x[:, inputs], target, d - d_in, k_w)
  missing = jnp.zeros((n, d), bool).at[:, others].set(u[:, others] < probs)
  if mechanism == "mnar_logistic":
    missing = missing.at[:, inputs].set(u[:, inputs] < rate)
  return missing


def missing_mask(x, rate: float, mechanism: str, *, key: jax.Array,
                 obs_fraction: float = 0.1, cut: str = "upper") -> jax.Array:
  """The entries to remove from complete data x [n, d]: bool [n, d], True = missing.

  rate in [0, 1): the expected overall fraction of missing entries (exact for
  mnar_quantile). obs_fraction: for mar, the fraction of always-observed columns
  (at least one); for mnar_logistic, of the logistic model's input columns.
  cut: mnar_quantile's censored tail, one of CUTS. The same key gives the same mask.
  """
  arr = _check_x(x)
  _check_key(key)
  _checks.check_choice("missingness mechanism", mechanism, MECHANISMS)
  _checks.check_choice("quantile cut", cut, CUTS)
  _checks.check_real("rate", rate)
  if not 0.0 <= rate < 1.0:
    raise ValueError(f"rate must lie in [0, 1) (the fraction of missing entries), got {rate}.")
  _checks.check_real("obs_fraction", obs_fraction, low=0.0, high=1.0)
  d = arr.shape[1]
  d_in = 0
  if mechanism in ("mar", "mnar_logistic"):
    d_in = max(1, int(obs_fraction * d))
    if d_in >= d:
      raise ValueError(f"{mechanism} needs at least 2 columns and obs_fraction < 1 "
                       f"(one column drives the others), got {d} columns and "
                       f"obs_fraction={obs_fraction}.")
    if mechanism == "mar" and rate * d / (d - d_in) >= 1.0:
      raise ValueError(
          f"rate={rate} is out of reach for mar: {d_in} of {d} columns are always observed, "
          f"so the rate must be < {(d - d_in) / d:.3f}; lower obs_fraction "
          f"(now {obs_fraction}) or the rate.")
  return _mask(jnp.asarray(arr, jnp.float32), jnp.float32(rate), key, mechanism=mechanism,
               d_in=d_in, cut=cut)


def with_nans(x, missing) -> np.ndarray:
  """x as float64 [n, d] with NaN at the missing entries (scikit-learn's convention)."""
  out = np.array(x, dtype=np.float64)
  if out.ndim != 2:
    raise ValueError(f"x must be [examples, features], got shape {out.shape}.")
  # A NaN or a probability is not a mask: np.asarray(., bool) would read both as "missing".
  _checks.check_binary_mask("missing", missing, shape=out.shape)
  out[np.asarray(missing, bool)] = np.nan
  return out


def check_incomplete(x) -> np.ndarray:
  """x as float64 [n, d] with NaN = missing; raises on the inputs no imputer can handle."""
  arr = np.asarray(x)
  if arr.ndim != 2 or 0 in arr.shape:
    raise ValueError(f"x must be a non-empty [examples, features] array with NaN for the "
                     f"missing entries, got shape {arr.shape}.")
  if not np.issubdtype(arr.dtype, np.floating):
    raise ValueError(f"x must be a float array with NaN for the missing entries, got dtype "
                     f"{arr.dtype}.")
  arr = arr.astype(np.float64)
  if np.any(np.isinf(arr)):
    raise ValueError("x holds infinite values; only NaN may mark a missing entry.")
  empty = np.flatnonzero(np.all(np.isnan(arr), axis=0))
  if empty.size:
    raise ValueError(f"column(s) {empty.tolist()} of x are entirely missing: nothing to "
                     "impute them from; drop them first.")
  return arr
