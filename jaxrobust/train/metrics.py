"""Metrics as JSON lines, one record per epoch; safe to resume."""

from __future__ import annotations

import json
import os
from typing import Any


class MetricsLog:
  """Appends JSON records to `<workdir>/metrics.jsonl`.

  On resume from epoch e, `truncate(e)` drops records of later epochs (written
  by the killed run after its last checkpoint), so every epoch appears once.
  """

  def __init__(self, workdir: str, filename: str = "metrics.jsonl"):
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
    keep = [r for r in self.records() if r.get("epoch", 0) <= last_epoch]
    tmp = self.path + ".tmp"
    with open(tmp, "w") as f:
      f.writelines(json.dumps(r) + "\n" for r in keep)
    os.replace(tmp, self.path)

  def write(self, record: dict[str, Any]) -> None:
    with open(self.path, "a") as f:
      f.write(json.dumps(record) + "\n")
