"""Missingness generators: the requested rate, the mechanism's dependence, determinism,
and clear errors."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from jaxrobust import generative as gen


@pytest.fixture(scope="module")
def x():
  # Independent columns, so a dependence of the mask on a column is the mechanism's doing.
  return np.random.default_rng(0).normal(size=(2000, 10))


def _mask(x, rate, mechanism, seed=0, **kw):
  return np.asarray(gen.missing_mask(x, rate, mechanism, key=jax.random.key(seed), **kw))


@pytest.mark.parametrize("mechanism", gen.MECHANISMS)
@pytest.mark.parametrize("rate", gen.RATES)
def test_hits_the_requested_rate(x, mechanism, rate):
  missing = _mask(x, rate, mechanism)
  assert missing.dtype == bool and missing.shape == x.shape
  assert abs(missing.mean() - rate) < 0.015, missing.mean()
  assert not missing.all(axis=0).any()


def test_rate_zero_removes_nothing(x):
  for mechanism in gen.MECHANISMS:
    assert not _mask(x, 0.0, mechanism).any(), mechanism


def test_deterministic_from_the_key(x):
  for mechanism in gen.MECHANISMS:
    np.testing.assert_array_equal(_mask(x, 0.5, mechanism, 3), _mask(x, 0.5, mechanism, 3))
  assert (_mask(x, 0.5, "mcar", 3) != _mask(x, 0.5, "mcar", 4)).any()
  assert (_mask(x, 0.5, "mar", 3) != _mask(x, 0.5, "mar", 4)).any()


def _gap(x, missing):
  """Per column: mean of the removed values minus mean of the kept ones."""
  return np.array([x[missing[:, j], j].mean() - x[~missing[:, j], j].mean()
                   if missing[:, j].any() and (~missing[:, j]).any() else 0.0
                   for j in range(x.shape[1])])


def test_mcar_depends_on_nothing(x):
  assert np.abs(_gap(x, _mask(x, 0.5, "mcar"))).max() < 0.15


def test_mar_depends_on_observed_columns_only(x):
  missing = _mask(x, 0.5, "mar", obs_fraction=0.1)
  driver = np.flatnonzero(~missing.any(axis=0))
  assert driver.size == 1  # 10% of 10 columns are always observed
  others = np.setdiff1d(np.arange(10), driver)
  # The driver's values differ between rows with and without missing entries ...
  rows_missing = missing[:, others].mean(axis=1)
  assert abs(np.corrcoef(x[:, driver[0]], rows_missing)[0, 1]) > 0.3
  # ... but a column's own value does not decide whether it is missing.
  assert np.abs(_gap(x, missing)[others]).max() < 0.15


@pytest.mark.parametrize("mechanism", ["mnar_self_mask", "mnar_quantile"])
def test_mnar_depends_on_the_missing_value_itself(x, mechanism):
  gap = _gap(x, _mask(x, 0.5, mechanism))
  # Large values go missing: the removed values are larger in every column.
  assert gap.min() > 0.5, gap


def test_quantile_cuts(x):
  lower = _mask(x, 0.2, "mnar_quantile", cut="lower")
  assert (_gap(x, lower) < -1.0).all()
  both = _mask(x, 0.2, "mnar_quantile", cut="both")
  removed = x[both]
  assert (removed > 0).mean() == pytest.approx(0.5, abs=0.05)
  assert np.abs(removed).min() > 1.0  # only the tails


def test_mnar_logistic_inputs_are_masked_too(x):
  missing = _mask(x, 0.5, "mnar_logistic", obs_fraction=0.2)
  assert missing.any(axis=0).all()  # the logistic model's inputs go missing as well


def test_quantile_rate_is_exact_with_ties():
  x = np.zeros((100, 3))
  x[:10] = 1.0  # 90 tied values per column
  missing = _mask(x, 0.3, "mnar_quantile")
  np.testing.assert_array_equal(missing.sum(axis=0), [30, 30, 30])
  assert missing[:10].all()  # the largest values go first


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5, float("nan")])
def test_rate_outside_unit_interval_is_an_error(x, rate):
  with pytest.raises(ValueError, match="rate"):
    gen.missing_mask(x, rate, "mcar", key=jax.random.key(0))


def test_bad_input_errors(x):
  key = jax.random.key(0)
  with pytest.raises(ValueError, match="Unknown missingness mechanism 'mnar'.*mcar"):
    gen.missing_mask(x, 0.2, "mnar", key=key)
  with pytest.raises(ValueError, match="Unknown quantile cut"):
    gen.missing_mask(x, 0.2, "mnar_quantile", key=key, cut="middle")
  with pytest.raises(ValueError, match="out of reach for mar"):
    gen.missing_mask(x, 0.8, "mar", key=key, obs_fraction=0.5)
  with pytest.raises(ValueError, match="at least 2 columns"):
    gen.missing_mask(x[:, :1], 0.2, "mar", key=key)
  with pytest.raises(ValueError, match=r"\[examples, features\]"):
    gen.missing_mask(x[:, 0], 0.2, "mcar", key=key)
  with pytest.raises(ValueError, match="complete data"):
    gen.missing_mask(np.where(x > 2, np.nan, x), 0.2, "mcar", key=key)
  with pytest.raises(TypeError, match="rate must be a real number"):
    gen.missing_mask(x, "0.2", "mcar", key=key)


def test_with_nans(x):
  missing = _mask(x, 0.5, "mcar")
  out = gen.with_nans(x, missing)
  np.testing.assert_array_equal(np.isnan(out), missing)
  np.testing.assert_array_equal(out[~missing], x[~missing])
  with pytest.raises(ValueError, match="shape"):
    gen.with_nans(x, missing[:10])
