"""Timing helpers shared by the benches: median wall time of a jitted call."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from typing import Any, Callable

import jax


def median_seconds(fn: Callable[[], Any], repeats: int = 10, warmup: int = 2) -> float:
  """Median wall time of fn() (which must return JAX arrays), after warm-up."""
  return interleaved_median_seconds({"fn": fn}, repeats, warmup)["fn"]


def interleaved_median_seconds(fns: dict[str, Callable[[], Any]], repeats: int = 10,
                               warmup: int = 2) -> dict[str, float]:
  """Median wall time of each fn, timed in rotation (a, b, c, a, b, c, ...) so that
  a drift in machine load affects every fn alike; ratios of the results are
  side by side in the strict sense."""
  for _ in range(warmup):
    for fn in fns.values():
      jax.block_until_ready(fn())
  times = {name: [] for name in fns}
  for _ in range(repeats):
    for name, fn in fns.items():
      tic = time.perf_counter()
      jax.block_until_ready(fn())
      times[name].append(time.perf_counter() - tic)
  return {name: statistics.median(t) for name, t in times.items()}


def write_results(name: str, rows: list[dict[str, Any]], out_dir: str) -> str:
  """Writes rows plus the machine description to <out_dir>/<name>.json."""
  os.makedirs(out_dir, exist_ok=True)
  path = os.path.join(out_dir, f"{name}.json")
  payload = {"bench": name, "machine": {
      "platform": platform.platform(), "devices": [str(d) for d in jax.devices()],
      "cpu_count": os.cpu_count(), "jax": jax.__version__}, "rows": rows}
  with open(path, "w") as f:
    json.dump(payload, f, indent=2)
  return path


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
  widths = [max(len(c), *(len(_fmt(r[c])) for r in rows)) for c in columns]
  print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
  for r in rows:
    print("  ".join(_fmt(r[c]).ljust(w) for c, w in zip(columns, widths)))


def _fmt(v) -> str:
  return f"{v:.3f}" if isinstance(v, float) else str(v)
