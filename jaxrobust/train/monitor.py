"""Catastrophic-overfitting monitor: FGSM and PGD accuracy on a fixed batch per epoch.

Catastrophic overfitting (Wong et al., ICLR 2020): during single-step
adversarial training, accuracy under multi-step PGD suddenly collapses towards
zero while accuracy under FGSM (the training attack) rises, often above clean
accuracy. The monitor records both on the same fixed held-out images every
epoch and flags the first epoch where that happens.

References:
  Wong, Rice & Kolter, "Fast is better than free: Revisiting adversarial
  training", ICLR 2020.
  Kim, Lee & Lee, "Understanding Catastrophic Overfitting in Single-step
  Adversarial Training", AAAI 2021.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import numpy as np

from jaxrobust.attacks.fgsm import FGSM
from jaxrobust.attacks.pgd import madry_pgd
from jaxrobust.eval.evaluator import Evaluator

FGSM_KEY, PGD_KEY = "monitor_fgsm_accuracy", "monitor_pgd_accuracy"


class COMonitor:
  """FGSM and PGD-<steps> (step 2.5 eps / steps, random start) accuracy of a
  model on fixed images; one compiled program per attack, reused every epoch.

  Args:
    apply_fn: (variables, x) -> logits, in eval mode.
    images: uint8 [n, h, w, c], labels [n]: the fixed held-out batch.
    eps: Linf radius of both attacks.
    pgd_steps: PGD iterations.
    key: the fixed PRNG key of the PGD start (same every epoch).
  """

  def __init__(self, apply_fn, images: np.ndarray, labels: np.ndarray, *, eps: float,
               pgd_steps: int, key: jax.Array):
    if len(labels) < 1:
      raise ValueError("The monitor needs at least one held-out example.")
    self.images, self.labels, self.key = images, labels, key
    attacks = {FGSM_KEY: FGSM(eps=eps).validate(),
               PGD_KEY: madry_pgd(eps=eps, steps=pgd_steps).validate()}
    self._evaluator = Evaluator(apply_fn, attacks, batch_size=len(labels))

  def __call__(self, variables: Any) -> dict[str, float]:
    return self._evaluator(variables, self.images, self.labels, key=self.key)


def detect_collapse(records: Sequence[dict[str, Any]], drop: float,
                    gap: float = 0.5) -> int | None:
  """The first epoch showing catastrophic overfitting, or None.

  An epoch is flagged when either
    * its PGD accuracy is more than `drop` below the best PGD accuracy of the
      epochs before it while its FGSM accuracy is above the FGSM accuracy at
      that best epoch (a collapse after robustness was reached), or
    * its FGSM accuracy exceeds its PGD accuracy by more than `gap` (the
      single-step attack no longer finds what PGD finds: a collapse that
      happened before PGD accuracy could rise, e.g. within the first epoch).

  records: per-epoch dicts with "epoch", FGSM_KEY and PGD_KEY (others ignored).
  drop, gap: fractions, e.g. 0.2 for 20 points.
  """
  if not 0 < drop <= 1:
    raise ValueError(f"monitor drop must be in (0, 1], got {drop}.")
  if not 0 < gap <= 1:
    raise ValueError(f"monitor gap must be in (0, 1], got {gap}.")
  best = None  # (pgd, fgsm) at the best PGD epoch so far
  for r in records:
    if PGD_KEY not in r or FGSM_KEY not in r:
      continue
    pgd, fgsm = r[PGD_KEY], r[FGSM_KEY]
    if best is not None and pgd < best[0] - drop and fgsm > best[1]:
      return r["epoch"]
    if fgsm - pgd > gap:
      return r["epoch"]
    if best is None or pgd > best[0]:
      best = (pgd, fgsm)
  return None
