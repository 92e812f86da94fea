"""Accounting goes through dp_accounting exactly; calibration inverts it; bad input fails."""

import math

import dp_accounting
import pytest
import scipy.stats
from dp_accounting import pld, rdp

from jaxrobust.privacy import accounting, sampling


def _direct(accountant, q, sigma, steps, delta):
  acc = rdp.RdpAccountant() if accountant == "rdp" else pld.PLDAccountant()
  acc.compose(dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)),
              steps)
  return acc.get_epsilon(delta)


@pytest.mark.parametrize("accountant", ["rdp", "pld"])
@pytest.mark.parametrize("q,sigma,steps", [(0.064, 1.1, 150), (0.01, 0.8, 300)])
def test_epsilon_equals_dp_accounting(accountant, q, sigma, steps):
  ours = accounting.epsilon(sigma, q, steps, 1e-5, accountant)
  assert ours == pytest.approx(_direct(accountant, q, sigma, steps, 1e-5), rel=1e-9)
  assert accounting.Accountant(sigma, q, 1e-5, accountant).epsilon(steps) == ours


# PLD is ~100x slower per evaluation: a coarser tolerance and a shorter run.
@pytest.mark.parametrize("accountant,steps,tol,rel", [("rdp", 160, 1e-4, 0.01),
                                                       ("pld", 40, 1e-2, 0.03)])
def test_calibration_inverts_accounting(accountant, steps, tol, rel):
  q, delta, target = 0.064, 1e-5, 2.0
  sigma = accounting.calibrate_noise(target, delta, q, steps, accountant, tol=tol)
  spent = accounting.epsilon(sigma, q, steps, delta, accountant)
  assert spent <= target
  assert spent == pytest.approx(target, rel=rel)
  # Any visibly smaller noise overspends: sigma is (close to) the smallest.
  assert accounting.epsilon(sigma * (1 - rel), q, steps, delta, accountant) > target


def test_epsilon_grows_with_steps_and_zero_cases():
  eps = [accounting.epsilon(1.0, 0.05, t, 1e-5) for t in (10, 100, 1000)]
  assert eps[0] < eps[1] < eps[2]
  assert accounting.epsilon(1.0, 0.05, 0, 1e-5) == 0.0
  assert math.isinf(accounting.epsilon(0.0, 0.05, 10, 1e-5))


@pytest.mark.parametrize("call,match", [
    (lambda: accounting.epsilon(-1.0, 0.1, 10, 1e-5), "noise_multiplier"),
    (lambda: accounting.epsilon(1.0, 0.1, 10, 1.0), "delta"),
    (lambda: accounting.epsilon(1.0, 0.1, 10, 0.0), "delta"),
    (lambda: accounting.epsilon(1.0, 1.5, 10, 1e-5), "sampling_prob"),
    (lambda: accounting.epsilon(1.0, 0.1, -3, 1e-5), "steps"),
    (lambda: accounting.epsilon(1.0, 0.1, 10, 1e-5, "moments"), "valid choices"),
    (lambda: accounting.calibrate_noise(1e-4, 1e-5, 1.0, 10_000, max_noise=50.0),
     "unreachable"),
    (lambda: accounting.calibrate_noise(-1.0, 1e-5, 0.1, 10), "target_epsilon"),
    (lambda: accounting.calibrate_noise(1.0, 2.0, 0.1, 10), "delta"),
    (lambda: sampling.physical_batch_size(100, 0.0), "sampling_prob"),
])
def test_bad_input(call, match):
  with pytest.raises(ValueError, match=match):
    call()


def test_physical_batch_size_bounds_overflow():
  n, q = 4000, 0.064
  s = sampling.physical_batch_size(n, q, overflow_prob=1e-12)
  assert scipy.stats.binom.sf(s, n, q) <= 1e-12 < scipy.stats.binom.sf(s - 1, n, q)
