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

ACCOUNTANTS = ("rdp", "pld")


def check_noise_multiplier(noise_multiplier: float) -> None:
  if not math.isfinite(noise_multiplier) or noise_multiplier < 0:
    raise ValueError(f"noise_multiplier must be finite and >= 0, got {noise_multiplier}.")


def check_l2_clip(l2_clip: float) -> None:
  if not math.isfinite(l2_clip) or l2_clip <= 0:
    raise ValueError(f"l2_clip (the per-example clipping norm) must be finite and > 0, "
                     f"got {l2_clip}.")


def check_delta(delta: float) -> None:
  if not 0 < delta < 1:
    raise ValueError(f"delta must be in (0, 1), got {delta}.")


def check_sampling_prob(q: float) -> None:
  if not 0 < q <= 1:
    raise ValueError(f"sampling_prob must be in (0, 1], got {q}.")


def check_steps(steps: int) -> None:
  if int(steps) != steps or steps < 0:
    raise ValueError(f"steps must be an integer >= 0, got {steps}.")


def _accountant(name: str) -> dp_accounting.PrivacyAccountant:
  if name == "rdp":
    return rdp.RdpAccountant()
  if name == "pld":
    return pld.PLDAccountant()
  raise ValueError(f"Unknown accountant {name!r}; valid choices: {ACCOUNTANTS}.")


def dpsgd_event(noise_multiplier: float, sampling_prob: float,
                steps: int) -> dp_accounting.DpEvent:
  """The DpEvent of `steps` Poisson-sampled Gaussian steps (DP-SGD, DP-SAT)."""
  check_noise_multiplier(noise_multiplier)
  check_sampling_prob(sampling_prob)
  check_steps(steps)
  return dp_accounting.SelfComposedDpEvent(
      dp_accounting.PoissonSampledDpEvent(
          sampling_prob, dp_accounting.GaussianDpEvent(noise_multiplier)), int(steps))


def epsilon(noise_multiplier: float, sampling_prob: float, steps: int,
            delta: float, accountant: str = "rdp") -> float:
  """The epsilon spent by `steps` DP-SGD steps at `delta` (inf when sigma = 0)."""
  check_delta(delta)
  event = dpsgd_event(noise_multiplier, sampling_prob, steps)
  if steps == 0:
    return 0.0
  if noise_multiplier == 0:
    return math.inf
  acc = _accountant(accountant)
  acc.compose(event)
  return float(acc.get_epsilon(delta))


def calibrate_noise(target_epsilon: float, delta: float, sampling_prob: float,
                    steps: int, accountant: str = "rdp", tol: float = 1e-3,
                    max_noise: float = 500.0) -> float:
  """The smallest noise multiplier whose `steps` steps spend <= target_epsilon.

  Uses dp_accounting.calibrate_dp_mechanism (bisection on sigma); the answer
  is within `tol` of the exact minimal sigma and always on the safe side.
  Raises ValueError when no sigma <= max_noise reaches the target.
  """
  if not math.isfinite(target_epsilon) or target_epsilon <= 0:
    raise ValueError(f"target_epsilon must be finite and > 0, got {target_epsilon}.")
  check_delta(delta)
  check_sampling_prob(sampling_prob)
  check_steps(steps)
  if steps == 0:
    raise ValueError("steps must be >= 1 to calibrate noise.")
  _accountant(accountant)  # validates the name
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
    _accountant(accountant)
    self.noise_multiplier = noise_multiplier
    self.sampling_prob = sampling_prob
    self.delta = delta
    self.accountant = accountant

  def epsilon(self, steps: int) -> float:
    """Epsilon spent after `steps` steps."""
    return epsilon(self.noise_multiplier, self.sampling_prob, steps, self.delta,
                   self.accountant)
