"""A full robustness evaluation of one or several models of one architecture.

Clean accuracy, robust accuracy per attack, AutoAttack-style ensembles
(cumulative, attacking only the points still robust), the per-example worst
case over everything, per-class accuracy, a robustness curve over eps (one
compiled call per batch) and the gradient-masking diagnostics. Several models
are evaluated together by vmap over their stacked parameters.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Mapping, Sequence

import jax
import numpy as np
from jax.sharding import Mesh

from jaxrobust import _checks
from jaxrobust.attacks.pgd import PGD, madry_pgd
from jaxrobust.attacks.sweep import Sweep
from jaxrobust.data import to_float
from jaxrobust.eval import diagnostics as diag
from jaxrobust.eval.ensemble import EnsembleEvaluator
from jaxrobust.eval.evaluator import ApplyFn, Evaluator, stack_variables
from jaxrobust.eval.sharded import ShardedEnsembleEvaluator, ShardedEvaluator

# fold_in tags of the evaluation's independent random streams.
_ATTACKS, _ENSEMBLES, _CURVE, _DIAGNOSTICS = range(4)


def per_class_accuracy(correct: np.ndarray, labels: np.ndarray,
                       num_classes: int) -> list[float | None]:
  """Mean of correct [n] per label (None for a class absent from labels)."""
  _checks.check_int("num_classes", num_classes, 1)
  _checks.check_ndim("correct", correct, ("n",))
  _checks.check_same_length(correct=correct, labels=labels)
  _checks.check_labels("labels", np.asarray(labels), num_classes)
  correct, labels = np.asarray(correct), np.asarray(labels)
  return [float(correct[labels == c].mean()) if np.any(labels == c) else None
          for c in range(num_classes)]


def robustness_report(model, variables: Any, images: np.ndarray, labels: np.ndarray,
                      attacks: Mapping[str, Any], *, key: jax.Array,
                      batch_size: int = 500, progress: bool = False) -> dict[str, Any]:
  """Clean accuracy and accuracy under each attack on a whole split.

  Args:
    model: a Flax module taking (x, train=False).
    variables: its variables.
    images, labels: uint8 [n, h, w, c] and int32 [n].
    attacks: name -> attack (e.g. {"pgd20": PGD(eps=0.1, steps=20)}).

  Returns:
    {"num_examples", "clean_accuracy", "robust_accuracy": {name: acc},
     "worst_case_accuracy", "eval_time_s"}; worst case = the example counts as
    robust only if it is classified correctly clean and under every attack.
  """
  tic = time.perf_counter()
  evaluator = Evaluator(functools.partial(model.apply, train=False),
                        {"clean": None, **attacks}, batch_size)
  correct = evaluator.correct(variables, images, labels, key=key, progress=progress)
  worst = np.logical_and.reduce(list(correct.values()))
  return {
      "num_examples": int(len(labels)),
      "clean_accuracy": float(correct["clean"].mean()),
      "robust_accuracy": {name: float(correct[name].mean()) for name in attacks},
      "worst_case_accuracy": float(worst.mean()),
      "eval_time_s": time.perf_counter() - tic,
  }


def curve_attack(eps: float, norm: str, steps: int) -> PGD:
  """PGD of the robustness curve: Madry's step 2.5 * eps / steps, kept per radius."""
  return madry_pgd(eps=eps, steps=steps, norm=norm)


def _diagnostics(apply_fn: ApplyFn, stacked: Any, images: np.ndarray,
                 labels: np.ndarray, *, norm: str, key: jax.Array,
                 huge_eps_steps: int) -> dict[str, np.ndarray]:
  """Forward randomness, zero gradients and huge-eps accuracy, [models] each."""

  def stats(variables, x, y, key):
    logits_fn = lambda z: apply_fn(variables, z)
    rand_key, pgd_key = jax.random.split(key)
    # A model built with Flax rngs (e.g. noise layers) draws from these keys;
    # a deterministic one ignores them and scores 0.
    noisy_fn = lambda z, k: apply_fn(variables, z, rngs={"dropout": k, "noise": k})
    return {
        "random_predictions": diag.prediction_randomness(noisy_fn, x, rand_key),
        "zero_gradients": diag.zero_gradient_fraction(logits_fn, x, y),
        "huge_eps_accuracy": diag.huge_eps_accuracy(
            logits_fn, x, y, key=pgd_key, norm=norm, steps=huge_eps_steps),
    }

  out = jax.jit(jax.vmap(stats, in_axes=(0, None, None, None)))(
      stacked, to_float(images), labels, key)
  return {k: np.asarray(v) for k, v in out.items()}


def evaluate_models(apply_fn: ApplyFn, variables: Sequence[Any], images: np.ndarray,
                    labels: np.ndarray, *, num_classes: int,
                    attacks: Mapping[str, Any] | None = None,
                    ensembles: Mapping[str, Mapping[str, Any]] | None = None,
                    blackbox: Sequence[str] = (), norm: str = "linf",
                    curve_eps: Sequence[float] = (), curve_steps: int = 20,
                    diagnostics_examples: int = 0, huge_eps_steps: int = 50,
                    key: jax.Array, batch_size: int = 500,
                    progress: bool = False, mesh: Mesh | None = None) -> list[dict[str, Any]]:
  """Evaluates each model on images uint8 [n, h, w, c], labels [n].

  Args:
    apply_fn: (variables, x, **kwargs) -> logits, e.g.
      `functools.partial(model.apply, train=False)`.
    variables: one variables dict per model (same architecture).
    attacks: name -> attack, each run on every point.
    ensembles: name -> ordered {component: attack}, run as AutoAttack does
      (see `EnsembleEvaluator`).
    blackbox: names of black-box components/attacks, for the diagnostic that
      compares them with the white-box ones.
    norm: threat model of the curve and diagnostics.
    curve_eps: radii of the robustness curve ([] for none).
    diagnostics_examples: how many examples the masking checks use (0: none).
    key: PRNG key; batch_size: examples per compiled step.
    mesh: a device mesh with a "data" axis (e.g. `sharding.data_mesh()`): the
      attacks, ensembles and curve run with each batch split over it
      (`ShardedEvaluator`, `ShardedEnsembleEvaluator`; batch_size a multiple of
      its devices); None: one device. The per-example results are the same.

  Returns:
    One report per model: clean_accuracy, robust_accuracy {attack: acc},
    ensembles {name: {"after": {component: acc}, "robust_accuracy", "time_s"}},
    worst_case_accuracy, per_class_accuracy {clean, worst_case}, curve
    {eps, accuracy}, diagnostics {stats, warnings}, eval_time_s.
  """
  attacks, ensembles = dict(attacks or {}), dict(ensembles or {})
  labels = np.asarray(labels)
  # Checked before any attack runs (the curve comes last).
  _checks.check_array_range("curve_eps", np.asarray(curve_eps, np.float64), 0.0)
  _checks.check_int("curve_steps", curve_steps, 1)
  m = len(variables)
  stacked = stack_variables(variables)
  tic = time.perf_counter()
  if mesh is None:
    evaluator, ensemble_evaluator, placement = Evaluator, EnsembleEvaluator, {}
  else:
    evaluator, ensemble_evaluator = ShardedEvaluator, ShardedEnsembleEvaluator
    placement = {"mesh": mesh}
  single = evaluator(apply_fn, {"clean": None, **attacks}, batch_size, stacked=True,
                     **placement)
  correct = single.correct(stacked, images, labels, key=jax.random.fold_in(key, _ATTACKS),
                           progress=progress)  # name -> [m, n]
  worst = np.logical_and.reduce(list(correct.values()))
  ensemble_out = {}
  for i, (name, components) in enumerate(ensembles.items()):
    result = ensemble_evaluator(apply_fn, components, batch_size, stacked=True,
                                **placement).correct(
        stacked, images, labels, key=jax.random.fold_in(jax.random.fold_in(key, _ENSEMBLES), i),
        progress=progress)
    ensemble_out[name] = result
    worst &= result["robust"]
  curve = None
  if len(curve_eps):
    sweep = Sweep(curve_attack(max(curve_eps), norm, curve_steps), np.asarray(curve_eps))
    curve = evaluator(apply_fn, {"curve": sweep}, batch_size, stacked=True,
                      **placement).correct(
        stacked, images, labels, key=jax.random.fold_in(key, _CURVE),
        progress=progress)["curve"].mean(-1)  # [m, K]
  masking = {}
  if diagnostics_examples:
    n = min(diagnostics_examples, len(labels))
    masking = _diagnostics(apply_fn, stacked, images[:n], labels[:n], norm=norm,
                           key=jax.random.fold_in(key, _DIAGNOSTICS),
                           huge_eps_steps=huge_eps_steps)
  elapsed = time.perf_counter() - tic

  reports = []
  for j in range(m):
    report = {
        "num_examples": int(len(labels)),
        "clean_accuracy": float(correct["clean"][j].mean()),
        "robust_accuracy": {k: float(correct[k][j].mean()) for k in attacks},
        "ensembles": {
            name: {"after": {c: float(v[j].mean()) for c, v in r["after"].items()},
                   "robust_accuracy": float(r["robust"][j].mean()),
                   "time_s": r["time_s"]}
            for name, r in ensemble_out.items()},
        "worst_case_accuracy": float(worst[j].mean()),
        "per_class_accuracy": {
            "clean": per_class_accuracy(correct["clean"][j], labels, num_classes),
            "worst_case": per_class_accuracy(worst[j], labels, num_classes)},
        "eval_time_s": elapsed,
    }
    stats = {}
    if curve is not None:
      report["curve"] = {"eps": [float(e) for e in curve_eps],
                         "accuracy": curve[j].tolist(), "attack": f"pgd{curve_steps}"}
      stats["accuracy_rise"] = float(diag.largest_accuracy_rise(curve[j]))
    gain = _blackbox_gain(correct, ensemble_out, blackbox, j)
    if gain is not None:
      stats["blackbox_gain"] = gain
    stats.update({k: float(v[j]) for k, v in masking.items()})
    report["diagnostics"] = {"stats": stats, "warnings": diag.masking_warnings(stats)}
    reports.append(report)
  return reports


def _blackbox_gain(correct, ensemble_out, blackbox, j) -> float | None:
  """Fraction broken by black-box attacks among points every white-box one missed."""
  gains = []
  white = [k for k in correct if k != "clean" and k not in blackbox]
  black = [k for k in correct if k in blackbox]
  if white and black:
    survived = np.logical_and.reduce([correct[k][j] for k in white])
    broken = ~np.logical_and.reduce([correct[k][j] for k in black])
    gains.append(float(diag.blackbox_gain(survived, ~broken)))
  for r in ensemble_out.values():
    names = list(r["after"])
    # The first black-box component that runs after white-box ones: the points
    # it breaks survived every white-box component before it.
    for i, name in enumerate(names):
      if name in blackbox and i > 0 and names[i - 1] not in blackbox:
        before, after = r["after"][names[i - 1]][j], r["after"][name][j]
        gains.append(float(np.mean(before & ~after)))
  return max(gains) if gains else None
