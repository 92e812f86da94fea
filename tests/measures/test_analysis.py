"""Kendall's tau and the granulated Kendall coefficient against scipy."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from jaxrobust.measures import analysis


@pytest.mark.parametrize("n,levels", [(2, None), (30, None), (200, 5), (1500, 20)])
def test_kendall_tau_matches_scipy(n, levels):
  rng = np.random.default_rng(n)
  a = rng.normal(size=n) if levels is None else rng.integers(0, levels, n).astype(float)
  b = 0.5 * a + rng.normal(size=n) if levels is None else rng.integers(0, levels, n)
  np.testing.assert_allclose(analysis.kendall_tau(a, b), stats.kendalltau(a, b).statistic,
                             rtol=1e-12, atol=1e-12)


def test_kendall_tau_nan_for_constant_or_nan():
  assert math.isnan(analysis.kendall_tau([1, 1, 1], [1, 2, 3]))
  assert math.isnan(analysis.kendall_tau([1, np.nan, 3], [1, 2, 3]))
  assert analysis.kendall_tau([1, 2, 3], [3, 2, 1]) == -1.0


def brute_force_tau_a(a, b):
  """(concordant - discordant) / (n (n - 1) / 2), counting pairs one by one."""
  pairs = list(itertools.combinations(range(len(a)), 2))
  conc = sum((a[i] - a[j]) * (b[i] - b[j]) > 0 for i, j in pairs)
  disc = sum((a[i] - a[j]) * (b[i] - b[j]) < 0 for i, j in pairs)
  return (conc - disc) / len(pairs)


def test_kendall_tau_a_counts_pairs_and_differs_from_tau_b_under_ties():
  rng = np.random.default_rng(1)
  a, b = rng.integers(0, 3, 40).astype(float), rng.integers(0, 4, 40).astype(float)
  tau_a = analysis.kendall_tau(a, b, "a")
  np.testing.assert_allclose(tau_a, brute_force_tau_a(a, b), rtol=1e-12, atol=1e-15)
  tau_b = analysis.kendall_tau(a, b)
  np.testing.assert_allclose(tau_b, stats.kendalltau(a, b).statistic, rtol=1e-12)
  assert abs(tau_b) > abs(tau_a) > 0  # ties shrink tau-a's denominator less
  assert analysis.kendall_tau([1, 1, 1], [1, 2, 3], "a") == 0.0
  with pytest.raises(ValueError, match="variant"):
    analysis.kendall_tau(a, b, "c")


def test_granulated_kendall_counts_a_constant_group_as_zero():
  # Axis "lr" varies within each "wd" group; in the wd=1 group the measure is constant.
  hp = {"lr": [0, 1, 2, 0, 1, 2], "wd": [0, 0, 0, 1, 1, 1]}
  gap = [1.0, 2.0, 3.0, 1.0, 2.0, 3.0]
  measure = [1.0, 2.0, 3.0, 5.0, 5.0, 5.0]
  for variant in ("a", "b"):
    got = analysis.granulated_kendall(measure, gap, hp, axes=["lr"], variant=variant)
    assert got["lr"] == 0.5 and got["mean"] == 0.5  # mean of tau 1 and tau 0, not NaN
  # A constant gap too; NaN values still propagate rather than passing as 0.
  assert analysis.granulated_kendall(gap, [2.0] * 6, hp, axes=["lr"])["mean"] == 0.0
  assert math.isnan(analysis.granulated_kendall([np.nan] + gap[1:], gap, hp,
                                                axes=["lr"])["mean"])


def test_granulated_kendall_matches_a_direct_computation():
  rng = np.random.default_rng(0)
  lrs, wds, seeds = [0.1, 0.3, 1.0], [0.0, 1e-4], [0, 1, 2, 3]
  rows = list(itertools.product(lrs, wds, seeds))
  hp = {"lr": [r[0] for r in rows], "wd": [r[1] for r in rows], "seed": [r[2] for r in rows]}
  gap = np.array([r[0] + 10 * r[1] for r in rows]) + 0.3 * rng.normal(size=len(rows))
  measure = gap + rng.normal(size=len(rows))
  got = analysis.granulated_kendall(measure, gap, hp, axes=["lr", "wd"], variant="b")
  for axis, others in (("lr", ("wd", "seed")), ("wd", ("lr", "seed"))):
    taus = []
    for setting in itertools.product(*[sorted(set(hp[o])) for o in others]):
      idx = [i for i in range(len(rows)) if all(hp[o][i] == v for o, v in zip(others, setting))]
      taus.append(stats.kendalltau(measure[idx], gap[idx]).statistic)
    np.testing.assert_allclose(got[axis], np.mean(taus), rtol=1e-12)
  np.testing.assert_allclose(got["mean"], (got["lr"] + got["wd"]) / 2)
  # A measure equal to the gap ranks perfectly along every axis.
  assert analysis.granulated_kendall(gap, gap, hp)["mean"] == 1.0


def test_correlation_table_sorted_by_absolute_tau():
  gap = np.arange(8.0)
  hp = {"a": [0, 1] * 4, "b": [0, 0, 1, 1] * 2}
  rows = analysis.correlation_table({"up": gap, "down": -gap ** 3, "noise": [3, 1, 4, 1, 5, 9, 2, 6],
                                     "const": np.ones(8)}, gap, hp)
  assert [r["measure"] for r in rows][:2] in (["up", "down"], ["down", "up"])
  assert rows[-1]["measure"] == "const" and math.isnan(rows[-1]["tau"])
  assert rows[-1]["tau_a"] == 0.0 and rows[-1]["granulated"] == 0.0  # Jiang et al.
  assert "psi_a" in rows[0] and "| measure |" in analysis.format_markdown(rows)


def test_bad_input_is_named():
  with pytest.raises(ValueError, match="one length"):
    analysis.kendall_tau([1, 2, 3], [1, 2])
  with pytest.raises(ValueError, match="at least 2"):
    analysis.kendall_tau([1], [1])
  with pytest.raises(ValueError, match="axis 'lr' must hold one value per model"):
    analysis.granulated_kendall([1, 2, 3], [1, 2, 3], {"lr": [1, 2]})
  with pytest.raises(ValueError, match="Unknown axis 'wd'"):
    analysis.granulated_kendall([1, 2, 3], [1, 2, 3], {"lr": [1, 2, 3]}, axes=["wd"])
  with pytest.raises(ValueError, match="at least one hyperparameter axis"):
    analysis.granulated_kendall([1, 2, 3], [1, 2, 3], {})
  with pytest.raises(ValueError, match="empty"):
    analysis.correlation_table({}, [1, 2], {"a": [0, 1]})
