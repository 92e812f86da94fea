"""Univariate time series bundled with statsmodels, as sliding-window forecasting data.

Series (no network: they ship inside the statsmodels package):
  sunspots  yearly sunspot numbers 1700-2008, 309 points (period ~11 years);
  co2       weekly Mauna Loa CO2 (ppm) 1958-2001, 2284 points; missing weeks
            are filled by linear interpolation in time (period 52 weeks);
  elnino    monthly Nino 1+2 sea-surface temperature 1950-2010, 732 points
            (the 61 x 12 year-by-month table read row by row; period 12).

`forecasting_split` cuts the series at one time point: training windows lie
entirely before it and test targets entirely after it (test inputs may reach
back into the training period, as a forecaster's would). Both are normalised
with the training part's mean and standard deviation only, so nothing about
the test period leaks into training.

References: statsmodels datasets (https://www.statsmodels.org/stable/datasets/).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxrobust import _checks

SERIES = ("sunspots", "co2", "elnino")


def load_series(name: str) -> np.ndarray:
  """The raw series as float32 [time], oldest first."""
  if name not in SERIES:
    raise ValueError(f"Unknown series {name!r}; valid choices: {SERIES}.")
  try:
    from statsmodels import datasets  # pylint: disable=g-import-not-at-top
  except ImportError as e:  # an optional dependency of the library
    raise ImportError("jaxrobust.data.timeseries needs statsmodels "
                      "(pip install statsmodels==0.14.6).") from e
  frame = getattr(datasets, name).load_pandas().data
  if name == "sunspots":
    values = frame["SUNACTIVITY"].to_numpy()
  elif name == "co2":
    values = frame["co2"].interpolate(method="time").to_numpy()
  else:
    values = frame.drop(columns="YEAR").to_numpy().reshape(-1)
  values = np.asarray(values, np.float32)
  if not np.all(np.isfinite(values)):
    raise ValueError(f"series {name!r} has missing values after loading.")
  return values


def sliding_windows(series: np.ndarray, window: int, horizon: int = 1
                    ) -> tuple[np.ndarray, np.ndarray]:
  """All windows of a 1-D series: inputs [n, window], targets [n, horizon].

  Window i is series[i : i + window] and its target the next `horizon`
  values; n = len(series) - window - horizon + 1.
  """
  series = np.asarray(series)
  if series.ndim != 1:
    raise ValueError(f"series must be 1-D, got shape {series.shape}.")
  _checks.check_int("window", window, 1)
  _checks.check_int("horizon", horizon, 1)
  _checks.check_array_range("series", series)
  n = len(series) - window - horizon + 1
  if n < 1:
    raise ValueError(f"series of length {len(series)} is too short for "
                     f"window={window} + horizon={horizon}.")
  index = np.arange(n)[:, None]
  x = series[index + np.arange(window)]
  y = series[index + window + np.arange(horizon)]
  return x, y


@dataclasses.dataclass(frozen=True)
class ForecastData:
  """Normalised windows; multiply by std and add mean to get original units."""
  name: str
  x_train: np.ndarray  # float32 [n_train, window]
  y_train: np.ndarray  # float32 [n_train, horizon]
  x_test: np.ndarray   # float32 [n_test, window]
  y_test: np.ndarray   # float32 [n_test, horizon]
  mean: float
  std: float


def forecasting_split(name: str, window: int, horizon: int = 1,
                      test_fraction: float = 0.2) -> ForecastData:
  """Train/test windows of a bundled series, split by time (see module doc)."""
  if not 0.0 < test_fraction < 1.0:
    raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}.")
  series = load_series(name)
  cut = int(round(len(series) * (1.0 - test_fraction)))
  train_part = series[:cut]
  mean, std = float(train_part.mean()), float(train_part.std())
  normalised = (series - mean) / std
  x_train, y_train = sliding_windows(normalised[:cut], window, horizon)
  # Test windows start `window` points before the cut: every target is after it.
  x_test, y_test = sliding_windows(normalised[cut - window:], window, horizon)
  return ForecastData(name=name, x_train=x_train, y_train=y_train, x_test=x_test,
                      y_test=y_test, mean=mean, std=std)
