"""Reports: tables for the terminal and JSON files (the figures are in plots.py)."""

from __future__ import annotations

import json
import os
from typing import Any, Mapping, Sequence



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
    values.update({f"certified ({m})": acc for m, acc in r.get("certified_accuracy", {}).items()})
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
