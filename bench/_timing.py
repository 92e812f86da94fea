"""Timing helpers shared by the benches: median wall times, the bench row, the machine.

Every bench module exposes `rows(quick) -> list[dict]` (one dict per measured
case, built by `row`, with exactly ROW_KEYS) for `python -m bench`, besides its
own absl main. Peers (torch, torchattacks, opacus) are imported lazily through
`import_peer`; a missing one leaves its columns None and peer_status "not installed".
"""

from __future__ import annotations

import datetime
import importlib
import importlib.metadata
import json
import os
import platform
import statistics
import time
from typing import Any, Callable

import jax

import experiments  # noqa: F401  (turns on the persistent compilation cache, one place)

ROW_KEYS = ("bench", "case", "ours_s", "peer", "peer_s", "peer_status", "speedup",
            "limit_ratio", "peer_limit_ratio", "compile_s", "robust_acc_ours",
            "robust_acc_peer", "passes_ours", "passes_peer", "note")
PEER_STATUSES = ("ok", "not installed", "n/a")


def row(bench: str, case: str, ours_s: float | None, **fields: Any) -> dict[str, Any]:
  """One result row with exactly ROW_KEYS (None where not given).

  peer_status defaults to "ok" when peer_s is given, else "n/a"; speedup =
  peer_s / ours_s (> 1: we are faster) unless given.
  """
  unknown = set(fields) - set(ROW_KEYS)
  if unknown:
    raise ValueError(f"Unknown row fields {sorted(unknown)}; valid: {ROW_KEYS}.")
  r = dict.fromkeys(ROW_KEYS)
  r.update({"note": "", **fields, "bench": bench, "case": case, "ours_s": _float(ours_s)})
  if r["peer_status"] is None:
    r["peer_status"] = "ok" if r["peer_s"] is not None else "n/a"
  if r["peer_status"] not in PEER_STATUSES:
    raise ValueError(f"peer_status must be one of {PEER_STATUSES}, got {r['peer_status']!r}.")
  if r["speedup"] is None and r["peer_s"] and r["ours_s"]:
    r["speedup"] = r["peer_s"] / r["ours_s"]
  return {k: _float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
          for k, v in r.items()}


def _float(v):
  return None if v is None else float(v)


def import_peer(*names: str) -> list | None:
  """The modules imported, or None when any is missing (its columns read "not installed")."""
  try:
    return [importlib.import_module(n) for n in names]
  except ImportError:
    return None


def peer_name(*dists: str) -> str:
  """'torchattacks 3.5.1' (or 'torchattacks' when not installed), several joined by ' + '."""
  out = []
  for d in dists:
    try:
      out.append(f"{d} {importlib.metadata.version(d)}")
    except importlib.metadata.PackageNotFoundError:
      out.append(d)
  return " + ".join(out)


def first_call_seconds(fn: Callable[[], Any]) -> float:
  """Wall time of the first call: tracing + compilation (or a persistent-cache read) + one run."""
  tic = time.perf_counter()
  jax.block_until_ready(fn())
  return time.perf_counter() - tic


def machine() -> dict[str, Any]:
  """What the ratios were measured on: CPU, cores, JAX backend and device, load, date."""
  cpu = platform.processor()
  try:
    with open("/proc/cpuinfo") as f:
      cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), cpu)
  except OSError:
    pass
  dev = jax.devices()[0]
  return {
      "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
      "cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
      "python": platform.python_version(), "jax": jax.__version__,
      "backend": jax.default_backend(), "device_kind": dev.device_kind,
      "device_count": jax.device_count(), "load_average": list(os.getloadavg()),
      "compilation_cache": (jax.config.jax_compilation_cache_dir
                            if jax.config.jax_enable_compilation_cache else None)}


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
