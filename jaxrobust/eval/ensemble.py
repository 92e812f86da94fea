"""Worst case over an ordered attack ensemble, attacking only the points still robust.

This is AutoAttack's protocol (Croce & Hein, ICML 2020, Sec. 4): each attack
runs on the points that every earlier attack failed to break, so the final
robust accuracy is the per-example worst case (the RobustBench number) at the
cost of attacking each robust point once per attack. Points are gathered on
the host between attacks and padded to one compiled batch shape per attack.
"""

from __future__ import annotations

import time
from typing import Any, Mapping

import jax
import numpy as np

from jaxrobust.eval.evaluator import ApplyFn, Evaluator


class EnsembleEvaluator:
  """Cumulative robust accuracy after each attack of an ordered ensemble.

  Args:
    apply_fn: (variables, x) -> logits, as for `Evaluator`.
    attacks: ordered name -> attack (e.g. `AutoAttack(...).components()`).
    batch_size: examples per compiled step.
    stacked: several models stacked along a leading axis of the variables; the
      points attacked are those still robust for at least one model, and each
      model keeps its own results.
  """

  def __init__(self, apply_fn: ApplyFn, attacks: Mapping[str, Any],
               batch_size: int = 500, stacked: bool = False):
    if not attacks:
      raise ValueError("an ensemble needs at least one attack.")
    self.names = tuple(attacks)
    self.stacked = stacked
    self._clean = Evaluator(apply_fn, {"clean": None}, batch_size, stacked)
    self._attacks = {name: Evaluator(apply_fn, {name: attack}, batch_size, stacked)
                     for name, attack in attacks.items()}

  def correct(self, variables, images: np.ndarray, labels: np.ndarray, *,
              key: jax.Array, progress: bool = False) -> dict[str, Any]:
    """Per-example results over images uint8 [n, ...] and labels [n].

    Returns {"clean": bool [n], "after": {name: bool [n], robust after that
    attack and all before it}, "robust": bool [n] (worst case),
    "time_s": {name: seconds}}; arrays gain a leading model axis if stacked.
    """
    robust = self._clean.correct(variables, images, labels, key=key)["clean"]
    out = {"clean": robust.copy(), "after": {}, "time_s": {}}
    for i, name in enumerate(self.names):
      tic = time.perf_counter()
      alive = np.flatnonzero(robust.any(0) if self.stacked else robust)
      if alive.size:
        # Each attack's stream is fold_in(key, i + 1): adding an attack later
        # in the ensemble does not change the results of earlier ones.
        result = self._attacks[name].correct(
            variables, images[alive], labels[alive],
            key=jax.random.fold_in(key, i + 1), progress=progress)[name]
        robust[..., alive] &= result
      out["after"][name] = robust.copy()
      out["time_s"][name] = time.perf_counter() - tic
    out["robust"] = robust
    return out

  def __call__(self, variables, images: np.ndarray, labels: np.ndarray, *,
               key: jax.Array, progress: bool = False) -> dict[str, Any]:
    """Accuracies: {"clean", "after": {name: acc}, "robust"} (lists over models if stacked)."""
    c = self.correct(variables, images, labels, key=key, progress=progress)
    acc = lambda a: a.mean(-1).tolist() if self.stacked else float(a.mean())
    return {"clean": acc(c["clean"]), "robust": acc(c["robust"]),
            "after": {k: acc(v) for k, v in c["after"].items()}, "time_s": c["time_s"]}
