"""The imputer interface, the scikit-learn baselines, and the RMSE protocol.

An imputer is an object with

    fit_transform(x, *, key) -> x_imputed      # float [n, d] with NaN -> float [n, d]

(transductive, as in GAIN's and hyperimpute's benchmarks: it is fitted on the
incomplete data it imputes). `impute(imputer, x, key=...)` is the checked entry
point: x must be a 2-D float array with NaN for the missing entries and no
column entirely missing, and the result keeps every observed entry exactly.

`IMPUTERS` names them for configs: mean, knn, iterative (scikit-learn's
SimpleImputer, KNNImputer, IterativeImputer), gain and cycle (the GAN imputers).

The RMSE protocol is hyperimpute's benchmark (`benchmarks.py`, `metrics.RMSE`):
the complete data is min-max scaled column-wise (`minmax_scale`, fitted on the
complete data), missingness is applied to the scaled data, and the RMSE is
taken over the missing entries only.

References: Troyanskaya et al., "Missing value estimation methods for DNA
microarrays", Bioinformatics 2001 (kNN imputation); van Buuren &
Groothuis-Oudshoorn, "mice", J. Stat. Softw. 2011 (iterative imputation);
Jarrett et al., "HyperImpute", ICML 2022 (the protocol).
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Protocol

import jax
import numpy as np
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.preprocessing import MinMaxScaler

from jaxrobust import _checks
from jaxrobust.generative.missingness import check_incomplete

SKLEARN_KINDS = ("mean", "knn", "iterative")


class Imputer(Protocol):
  def fit_transform(self, x: np.ndarray, *, key: jax.Array) -> np.ndarray:
    ...


def impute(imputer: Imputer, x, *, key: jax.Array) -> np.ndarray:
  """imputer.fit_transform(x) checked: float64 [n, d] with the observed entries of x."""
  if not callable(getattr(imputer, "fit_transform", None)):
    raise TypeError(f"imputer must have fit_transform(x, *, key) (an IMPUTERS entry), got "
                    f"{type(imputer).__name__}.")
  arr = check_incomplete(x)
  observed = ~np.isnan(arr)
  out = np.asarray(imputer.fit_transform(arr.copy(), key=key), np.float64)
  if out.shape != arr.shape or not np.all(np.isfinite(out)):
    raise RuntimeError(f"{type(imputer).__name__} returned shape {out.shape} or non-finite "
                       f"values for input of shape {arr.shape}.")
  out[observed] = arr[observed]  # guarantees the contract, whatever the imputer rounds
  return out


def _seed(key: jax.Array) -> int:
  """A numpy/scikit-learn seed from a JAX key."""
  return int(jax.random.randint(key, (), 0, 2**31 - 1))


@dataclasses.dataclass(frozen=True)
class SklearnImputer:
  """A scikit-learn imputer by kind: "mean", "knn" (k neighbours, nan-Euclidean), or
  "iterative" (BayesianRidge chained equations, max_iter rounds; n_nearest_features
  limits each regression's predictors, None = all)."""
  kind: str
  n_neighbors: int = 5
  max_iter: int = 10
  n_nearest_features: int | None = None

  def __post_init__(self):
    _checks.check_choice("scikit-learn imputer kind", self.kind, SKLEARN_KINDS)
    _checks.check_int("n_neighbors", self.n_neighbors, 1)
    _checks.check_int("max_iter", self.max_iter, 1)
    if self.n_nearest_features is not None:
      _checks.check_int("n_nearest_features", self.n_nearest_features, 1)

  def fit_transform(self, x: np.ndarray, *, key: jax.Array) -> np.ndarray:
    if self.kind == "mean":
      model = SimpleImputer(strategy="mean", keep_empty_features=True)
    elif self.kind == "knn":
      model = KNNImputer(n_neighbors=self.n_neighbors, keep_empty_features=True)
    elif self.kind == "iterative":
      model = IterativeImputer(max_iter=self.max_iter, random_state=_seed(key),
                               n_nearest_features=self.n_nearest_features,
                               keep_empty_features=True)
    else:
      raise ValueError(f"Unknown scikit-learn imputer {self.kind!r}; valid choices: "
                       "('mean', 'knn', 'iterative').")
    with warnings.catch_warnings():
      # IterativeImputer warns when max_iter ends before its tolerance: expected here.
      warnings.simplefilter("ignore", category=UserWarning)
      from sklearn.exceptions import ConvergenceWarning
      warnings.simplefilter("ignore", category=ConvergenceWarning)
      return model.fit_transform(x)


def minmax_scale(x) -> np.ndarray:
  """Complete data [n, d] scaled column-wise to [0, 1] (constant columns to 0)."""
  arr = np.asarray(x, np.float64)
  if arr.ndim != 2 or 0 in arr.shape:
    raise ValueError(f"x must be non-empty complete data [examples, features], got shape "
                     f"{arr.shape}.")
  # MinMaxScaler passes NaN through: the protocol scales *complete* data.
  _checks.check_array_range("x (complete data)", arr)
  return MinMaxScaler().fit_transform(arr)


def rmse(imputed, complete, missing) -> float:
  """sqrt(mean over the missing entries of (imputed - complete)^2); both [n, d] in
  the scaled space of the protocol, missing bool [n, d] (True = missing)."""
  imputed, complete = np.asarray(imputed, np.float64), np.asarray(complete, np.float64)
  if not imputed.shape == complete.shape == np.shape(missing) or imputed.ndim != 2:
    raise ValueError(f"shapes differ: imputed, complete and missing must share one shape "
                     f"[n, d], got imputed {imputed.shape}, complete {complete.shape}, missing "
                     f"{np.shape(missing)}.")
  _checks.check_binary_mask("missing", missing)
  missing = np.asarray(missing, bool)
  _checks.check_array_range("imputed", imputed)
  _checks.check_array_range("complete", complete)
  if not missing.any():
    raise ValueError("the mask marks no missing entry: the RMSE over missing entries is "
                     "undefined.")
  return float(np.sqrt(np.mean(np.square(imputed[missing] - complete[missing]))))
