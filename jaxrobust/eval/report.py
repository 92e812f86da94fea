"""Robustness reports: evaluate a trained model, print a table, write JSON."""

from __future__ import annotations

import functools
import json
import os
import time
from typing import Any, Mapping, Sequence

import jax
import numpy as np

from jaxrobust.eval.evaluator import Evaluator


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


def format_table(rows: Mapping[str, float], title: str = "") -> str:
  """A two-column text table of name -> accuracy (as percentages)."""
  width = max([len(k) for k in rows] + [len("metric")])
  lines = [title] if title else []
  lines += [f"{'metric':<{width}}  accuracy", f"{'-' * width}  --------"]
  lines += [f"{k:<{width}}  {100 * v:7.2f}%" for k, v in rows.items()]
  return "\n".join(lines)


def write_json(path: str, payload: Mapping[str, Any]) -> None:
  """Writes payload atomically (a kill never leaves half a report)."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    json.dump(payload, f, indent=2, sort_keys=True)
  os.replace(tmp, path)


def format_evaluation(reports: Sequence[Mapping[str, Any]], title: str = "") -> str:
  """A text table of `evaluate_models` reports (one column per model), then warnings.

  Ensemble rows ("autoattack: +square") are cumulative: accuracy after that
  component and every one before it.
  """
  rows: dict[str, list[Any]] = {}
  for j, r in enumerate(reports):
    values = {"clean": r["clean_accuracy"], **r["robust_accuracy"]}
    for name, e in r["ensembles"].items():
      values.update({f"{name}: +{c}": acc for c, acc in e["after"].items()})
    values["worst case"] = r["worst_case_accuracy"]
    for name, acc in values.items():
      rows.setdefault(name, [None] * len(reports))[j] = acc
  names = [os.path.basename(os.path.normpath(r.get("workdir") or f"model {j}"))
           for j, r in enumerate(reports)]
  width = max(len(k) for k in rows)
  cols = [max(len(n), 8) for n in names]
  fmt = lambda first, cells: f"{first:<{width}}  " + "  ".join(
      f"{s:>{c}}" for s, c in zip(cells, cols))
  lines = [title] if title else []
  lines.append(fmt("accuracy (%)", names))
  for k, values in rows.items():
    lines.append(fmt(k, ["-" if v is None else f"{100 * v:.2f}" for v in values]))
  for name, r in zip(names, reports):
    for warning in r.get("diagnostics", {}).get("warnings", []):
      lines.append(f"WARNING ({name}): {warning}")
  return "\n".join(lines)
