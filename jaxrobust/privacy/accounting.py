"""Privacy accounting of DP-SGD on the host, through dp_accounting (RDP or PLD).

One DP-SGD step with Poisson sampling rate q and noise multiplier sigma is the
event PoissonSampled(q, Gaussian(sigma)); `steps` steps are its self-
composition. The spent epsilon at delta is what dp_accounting's accountant
says for that event: this module only builds the event, checks inputs and
calibrates sigma (never a hand-written accountant).

References:
  Abadi et al., "Deep Learning with Differential Privacy", CCS 2016.
  Mironov, "Renyi Differential Privacy", CSF 2017.
  Koskela et al., "Computing Tight Differential Privacy Guarantees Using FFT"
  (privacy loss distributions), AISTATS 2020.
"""

from __future__ import annotations

import math

import dp_accounting
from dp_accounting import pld, rdp

from jaxrobust import _checks

ACCOUNTANTS = ("rdp", "pld")


def check_noise_multiplier(noise_multiplier: float) -> None:
  _checks.check_real("noise_multiplier", noise_multiplier, low=0)


def check_delta(delta: float) -> None:
  _checks.check_real("delta", delta, low=0, low_open=True)
  if not delta < 1:
    raise ValueError(f"delta must be in (0, 1), got {delta}.")


def check_sampling_prob(q: float) -> None:
  _checks.check_real("sampling_prob", q, low=0, low_open=True, high=1)


def check_steps(steps: int) -> None:
  _checks.check_real("steps", steps, low=0)
  if int(steps) != steps:
    raise ValueError(f"steps must be an integer >= 0, got {steps}.")


def check_accountant(name: str) -> None:
  _checks.check_choice("accountant", name, ACCOUNTANTS)


def _accountant(name: str) -> dp_accounting.PrivacyAccountant:
  check_accountant(name)
  return rdp.RdpAccountant() if name == "rdp" else pld.PLDAccountant()


def dpsgd_event(noise_multiplier: float, sampling_prob: float,
                steps: int) -> dp_accounting.DpEvent:
  """The DpEvent of `steps` Poisson-sampled Gaussian steps (DP-SGD, DP-SAT)."""
  check_noise_multiplier(noise_multiplier)
  check_sampling_prob(sampling_prob)
  check_steps(steps)
  # Python floats: dp_accounting's series lose precision (and converge slowly) in float32.
  return dp_accounting.SelfComposedDpEvent(
      dp_accounting.PoissonSampledDpEvent(
          float(sampling_prob), dp_accounting.GaussianDpEvent(float(noise_multiplier))),
      int(steps))


def epsilon(noise_multiplier: float, sampling_prob: float, steps: int,
            delta: float, accountant: str = "rdp") -> float:
  """The epsilon spent by `steps` DP-SGD steps at `delta` (inf when sigma = 0)."""
  check_accountant(accountant)
  check_delta(delta)
  event = dpsgd_event(noise_multiplier, sampling_prob, steps)
  if steps == 0:
    return 0.0
  if noise_multiplier == 0:
    return math.inf
  acc = _accountant(accountant)
  acc.compose(event)
  return float(acc.get_epsilon(float(delta)))


def calibrate_noise(target_epsilon: float, delta: float, sampling_prob: float,
                    steps: int, accountant: str = "rdp", tol: float = 1e-3,
                    max_noise: float = 500.0) -> float:
  """The smallest noise multiplier whose `steps` steps spend <= target_epsilon.

  Uses dp_accounting.calibrate_dp_mechanism (bisection on sigma); the answer
  is within `tol` of the exact minimal sigma and always on the safe side.
  Raises ValueError when no sigma <= max_noise reaches the target.
  """
  _checks.check_real("target_epsilon", target_epsilon, low=0, low_open=True)
  check_delta(delta)
  check_sampling_prob(sampling_prob)
  check_steps(steps)
  if steps == 0:
    raise ValueError("steps must be >= 1 to calibrate noise.")
  check_accountant(accountant)
  _checks.check_real("tol", tol, low=0, low_open=True)
  _checks.check_real("max_noise", max_noise, low=0, low_open=True)
  reachable = epsilon(max_noise, sampling_prob, steps, delta, accountant)
  if reachable > target_epsilon:
    raise ValueError(
        f"target_epsilon={target_epsilon} is unreachable at delta={delta}, "
        f"sampling_prob={sampling_prob}, steps={steps}: even noise_multiplier="
        f"{max_noise} spends epsilon={reachable:.4g}. Use fewer steps, a smaller "
        "sampling rate, or a larger epsilon/delta.")
  low, high = 1e-3, max_noise
  if accountant == "pld":
    # PLD discretises the privacy loss: a tiny sigma would need a grid of
    # billions of points. RDP's sigma upper-bounds PLD's (RDP is looser), so
    # bracket below it (PLD's sigma is rarely below half RDP's).
    high = calibrate_noise(target_epsilon, delta, sampling_prob, steps, "rdp", tol,
                           max_noise)
    low = high / 2
    while epsilon(low, sampling_prob, steps, delta, "pld") <= target_epsilon:
      low /= 2
  return float(dp_accounting.calibrate_dp_mechanism(
      lambda: _accountant(accountant),
      lambda sigma: dpsgd_event(sigma, sampling_prob, steps),
      target_epsilon, delta,
      bracket_interval=dp_accounting.ExplicitBracketInterval(low, high), tol=tol))


class Accountant:
  """The privacy spent so far by a DP-SGD run, from its number of steps.

  The only state is the step count, which lives in the train state (and so
  in its checkpoint): a resumed run reports the same epsilon as an
  uninterrupted one.

  Attributes:
    noise_multiplier, sampling_prob, delta: the run's mechanism.
    accountant: "rdp" or "pld".
  """

  def __init__(self, noise_multiplier: float, sampling_prob: float, delta: float,
               accountant: str = "rdp"):
    check_noise_multiplier(noise_multiplier)
    check_sampling_prob(sampling_prob)
    check_delta(delta)
    check_accountant(accountant)
    self.noise_multiplier = float(noise_multiplier)
    self.sampling_prob = float(sampling_prob)
    self.delta = float(delta)
    self.accountant = accountant

  def epsilon(self, steps: int) -> float:
    """Epsilon spent after `steps` steps."""
    return epsilon(self.noise_multiplier, self.sampling_prob, steps, self.delta,
                   self.accountant)
