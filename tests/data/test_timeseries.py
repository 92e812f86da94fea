"""statsmodels series as sliding-window forecasting data, split by time."""

import numpy as np
import pytest

from jaxrobust.data.timeseries import SERIES, forecasting_split, load_series, sliding_windows


def test_sliding_windows_pair_each_window_with_the_next_values():
  x, y = sliding_windows(np.arange(10.0), window=3, horizon=2)
  assert x.shape == (6, 3) and y.shape == (6, 2)
  np.testing.assert_array_equal(x[0], [0, 1, 2])
  np.testing.assert_array_equal(y[0], [3, 4])
  np.testing.assert_array_equal(x[-1], [5, 6, 7])
  np.testing.assert_array_equal(y[-1], [8, 9])
  with pytest.raises(ValueError, match="too short"):
    sliding_windows(np.arange(4.0), window=4)


@pytest.mark.parametrize("name,length", [("sunspots", 309), ("co2", 2284), ("elnino", 732)])
def test_bundled_series_load_complete(name, length):
  series = load_series(name)
  assert series.shape == (length,) and series.dtype == np.float32
  assert np.all(np.isfinite(series))


def test_split_is_by_time_and_normalised_by_training_statistics_only():
  window, horizon = 12, 3
  d = forecasting_split("elnino", window, horizon, test_fraction=0.25)
  raw = load_series("elnino")
  cut = len(raw) - len(raw) // 4
  np.testing.assert_allclose([d.mean, d.std], [raw[:cut].mean(), raw[:cut].std()], rtol=1e-5)
  train_targets = d.y_train * d.std + d.mean
  test_targets = d.y_test * d.std + d.mean
  # The last training target is the last point before the cut; the test targets
  # are exactly the points after it.
  np.testing.assert_allclose(train_targets[-1, -1], raw[cut - 1], rtol=1e-5)
  np.testing.assert_allclose(test_targets[:, 0], raw[cut:len(raw) - horizon + 1], rtol=1e-5)
  np.testing.assert_allclose(d.x_test[0] * d.std + d.mean, raw[cut - window:cut], rtol=1e-5)
  assert abs(float(d.x_train.mean())) < 0.1  # normalised (training part ~ N(0, 1))
  with pytest.raises(ValueError, match="valid choices"):
    forecasting_split("airline", 12)
  assert set(SERIES) == {"sunspots", "co2", "elnino"}
