"""Per-epoch monitors on fixed held-out points: catastrophic and robust overfitting.

`RobustGapMonitor` (every training run): PGD accuracy on fixed train and test
subsets, whose difference is the robust generalization gap (see its docstring).
`COMonitor` (opt-in): FGSM and PGD accuracy on a fixed test batch.

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

from jaxrobust import _checks

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
    _checks.check_same_length(images=images, labels=labels)
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


ROBUST_TRAIN_KEY, ROBUST_TEST_KEY, ROBUST_GAP_KEY = (
    "robust_train_accuracy", "robust_test_accuracy", "robust_gap")


def subset_indices(n: int, size: int) -> np.ndarray:
  """`size` indices spread evenly over range(n) (every n/size-th example).

  A fixed subset that needs no key: every run and every member of a
  population is measured on the same points, and a split stored sorted by
  label (mnist5k's source) still contributes every class.
  """
  if not isinstance(size, int) or not 1 <= size <= n:
    raise ValueError(f"the robust-gap subset size must be an integer in [1, {n}], got {size!r}.")
  return np.linspace(0, n - 1, size).round().astype(np.int64)


class RobustGapMonitor:
  """PGD accuracy on fixed train and test subsets after every epoch: robust overfitting.

  Robust overfitting (Rice et al., 2020): under adversarial training, robust
  train accuracy keeps rising while robust test accuracy peaks and falls; the
  gap robust train - robust test accuracy is what robustness measures are
  correlated with (Kim et al., 2023). Both subsets go through one compiled
  PGD program (one batch of 2n examples), with a fixed key, so every epoch
  and every model sees the same attack problem.

  Args:
    apply_fn: (variables, x) -> logits, in eval mode.
    train_images, train_labels: uint8 [n, h, w, c], int [n]: the fixed train subset.
    test_images, test_labels: [m, h, w, c], [m]: the fixed test subset.
    eps: radius in `norm` ("linf" or "l2"); pgd_steps: PGD iterations (step
      2.5 eps / steps, random start).
    key: the fixed PRNG key of the PGD starts.
    stacked: variables hold a population stacked along a leading axis; every
      result is then a list over models.

  References:
    Rice, Wong & Kolter, "Overfitting in adversarially robust deep learning", ICML 2020.
    Kim et al., "Fantastic Robustness Measures: The Secrets of Robust
    Generalization", NeurIPS 2023.
  """

  def __init__(self, apply_fn, train_images: np.ndarray, train_labels: np.ndarray,
               test_images: np.ndarray, test_labels: np.ndarray, *, eps: float,
               pgd_steps: int, key: jax.Array, norm: str = "linf", stacked: bool = False):
    if len(train_labels) < 1 or len(test_labels) < 1:
      raise ValueError("The robust-gap monitor needs at least one train and one test example.")
    self.n_train = len(train_labels)
    self.images = np.concatenate([train_images, test_images])
    self.labels = np.concatenate([train_labels, test_labels])
    self.key, self.stacked = key, stacked
    attack = madry_pgd(eps=eps, steps=pgd_steps, norm=norm).validate()
    self._evaluator = Evaluator(apply_fn, {"pgd": attack}, batch_size=len(self.labels),
                                stacked=stacked)

  def __call__(self, variables: Any) -> dict[str, Any]:
    """{robust_train_accuracy, robust_test_accuracy, robust_gap}: floats, or lists over
    models if stacked."""
    correct = self._evaluator.correct(variables, self.images, self.labels,
                                      key=self.key)["pgd"]
    train = correct[..., :self.n_train].mean(-1)
    test = correct[..., self.n_train:].mean(-1)
    out = {ROBUST_TRAIN_KEY: train, ROBUST_TEST_KEY: test, ROBUST_GAP_KEY: train - test}
    return {k: v.tolist() if self.stacked else float(v) for k, v in out.items()}
