"""Metrics as JSON lines, one record per epoch; safe to resume."""

from __future__ import annotations

import json
import math
import os
from typing import Any

import jax


def _json_safe(value):
  """Non-finite floats as null: JSON has no NaN or Infinity."""
  if isinstance(value, float) and not math.isfinite(value):
    return None
  if isinstance(value, dict):
    return {k: _json_safe(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_json_safe(v) for v in value]
  return value


class MetricsLog:
  """Appends JSON records to `<workdir>/metrics.jsonl` (strict JSON: a
  non-finite float is written as null).

  On resume from epoch e, `truncate(e)` drops records of later epochs (written
  by the killed run after its last checkpoint), so every epoch appears once.
  In a multi-process run every process reads the log and process 0 alone
  writes it (the records are the same on every process).
  """

  def __init__(self, workdir: str, filename: str = "metrics.jsonl"):
    if not isinstance(workdir, (str, os.PathLike)):
      raise TypeError(f"workdir must be a folder path, got {workdir!r}.")
    self.path = os.path.join(workdir, filename)

  def records(self) -> list[dict[str, Any]]:
    if not os.path.exists(self.path):
      return []
    with open(self.path) as f:
      # A kill mid-write can leave a partial last line: ignore it.
      out = []
      for line in f:
        try:
          out.append(json.loads(line))
        except json.JSONDecodeError:
          break
      return out

  def truncate(self, last_epoch: int) -> None:
    if jax.process_index() != 0:
      return
    keep = [r for r in self.records() if r.get("epoch", 0) <= last_epoch]
    tmp = self.path + ".tmp"
    with open(tmp, "w") as f:
      f.writelines(json.dumps(_json_safe(r), allow_nan=False) + "\n" for r in keep)
    os.replace(tmp, self.path)

  def write(self, record: dict[str, Any]) -> None:
    if jax.process_index() != 0:
      return
    with open(self.path, "a") as f:
      f.write(json.dumps(_json_safe(record), allow_nan=False) + "\n")
