r"""Every bench side by side with its peer, in one run: one table and bench/results.json.

  python -m bench [--quick] [--only=dp,sam] [--results=bench/results.json] [--cold]

Runs `rows(quick)` of each module in BENCHES (bench/_timing.py describes the
row) in one process, prints one table and writes the rows with the machine
(CPU, cores, JAX backend and device, load average, date) to --results.
`--quick` uses reduced sizes (all benches in under 3 minutes on 2 CPU cores).
Peers missing from the environment show "not installed"; a bench module that
does not exist yet, or has no `rows`, shows one "not yet" row; a bench that
raises shows an "error" row and the run exits with status 1 after writing
the rest. Compile times (`compile_s`: the first call, apart from the steady
state) come from the persistent compilation cache when it is warm; `--cold`
turns the cache off so they are true compile times.

The peers install by one command (the CPU torch wheel and the peers without
their declared dependencies; see requirements-peers.txt):

  pip install -r requirements-peers.txt && \
      pip install --no-deps torchattacks==3.5.1 opacus==1.5.4 bound-propagation==0.4.7
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any, Callable

from absl import app, flags

BENCHES = ("attacks", "autoattack", "dp", "sam", "train_step", "population", "scaling",
           "certify")
COLUMNS = ("bench", "case", "ours_s", "peer_s", "speedup", "limit_ratio", "peer_limit_ratio",
           "compile_s", "robust_acc_ours", "robust_acc_peer", "passes_ours", "passes_peer",
           "peer_status")

_QUICK = flags.DEFINE_bool("quick", False, "Reduced sizes: every bench in under 3 minutes.")
_ONLY = flags.DEFINE_list("only", list(BENCHES), f"Benches to run, of {list(BENCHES)}.")
_RESULTS = flags.DEFINE_string("results", os.path.join("bench", "results.json"),
                               "Where to write the rows and the machine (JSON).")
_COLD = flags.DEFINE_bool("cold", False, "Turn the persistent compilation cache off.")


def _import_bench(name: str):
  """bench.<name>, or None when the module does not exist (yet).

  A bench that still defines absl flags at import (e.g. --out, also defined by
  another bench) may redefine one: flags defined so far are marked overridable
  first, since `rows(quick)` takes no flags.
  """
  for flag in flags.FLAGS._flags().values():  # pylint: disable=protected-access
    flag.allow_override = True
  try:
    return importlib.import_module(f"bench.{name}")
  except ModuleNotFoundError as e:
    if e.name == f"bench.{name}":
      return None
    raise


def _placeholder(bench: str, note: str) -> dict[str, Any]:
  from bench import _timing  # deferred: listing the benches (--help) starts no JAX
  return _timing.row(bench, "-", None, note=note)


def run(names, quick: bool, results: str,
        import_bench: Callable[[str], Any] = _import_bench) -> tuple[list[dict], bool]:
  """Runs the benches' rows; writes {"machine", "quick", "rows", "seconds"} to results.

  Returns (rows, ok): ok is False when a bench raised.
  """
  from bench import _timing  # deferred: listing the benches (--help) starts no JAX
  unknown = sorted(set(names) - set(BENCHES))
  if unknown:
    raise ValueError(f"Unknown benches {unknown}; valid choices: {list(BENCHES)}.")
  rows, ok, seconds = [], True, {}
  for name in [b for b in BENCHES if b in names]:
    tic = time.perf_counter()
    module = import_bench(name)
    if module is None:
      rows.append(_placeholder(name, f"not yet: bench/{name}.py does not exist"))
    elif not hasattr(module, "rows"):
      rows.append(_placeholder(name, f"not yet: bench.{name} has no rows(quick)"))
    else:
      try:
        got = module.rows(quick)
        for r in got:
          if set(r) != set(_timing.ROW_KEYS):
            raise ValueError(f"bench.{name} row keys {sorted(r)} differ from "
                             f"{list(_timing.ROW_KEYS)}.")
        rows += got
      except Exception as e:  # pylint: disable=broad-except
        traceback.print_exc()
        ok = False
        rows.append(_placeholder(name, f"error: {type(e).__name__}: {e}"))
    seconds[name] = time.perf_counter() - tic
    print(f"bench.{name}: {seconds[name]:.1f} s", file=sys.stderr, flush=True)
  payload = {"machine": _timing.machine(), "quick": quick, "seconds": seconds, "rows": rows}
  os.makedirs(os.path.dirname(results) or ".", exist_ok=True)
  with open(results, "w") as f:
    json.dump(payload, f, indent=2)
  return rows, ok


def markdown(rows: list[dict], machine: dict) -> str:
  """The table as markdown (for the README), headed by the date and machine."""
  head = (f"{machine['date']}, {machine['cpu']} ({machine['cores']} cores), JAX "
          f"{machine['jax']} {machine['backend']} ({machine['device_kind']}), load "
          f"{machine['load_average'][0]:.1f}\n\n")
  cols = list(COLUMNS) + ["note"]
  lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
  lines += ["| " + " | ".join(_cell(r[c]) for c in cols) + " |" for r in rows]
  return head + "\n".join(lines) + "\n"


def _cell(v) -> str:
  if v is None:
    return "-"
  if isinstance(v, float):
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
  return str(v)


def main(argv):
  del argv
  quick, names, results = _QUICK.value, list(_ONLY.value), _RESULTS.value
  if _COLD.value:
    import jax  # pylint: disable=import-outside-toplevel
    jax.config.update("jax_enable_compilation_cache", False)
  rows, ok = run(names, quick, results)
  with open(results) as f:
    machine = json.load(f)["machine"]
  print(markdown(rows, machine))
  print("wrote", results)
  if not ok:
    sys.exit(1)


if __name__ == "__main__":
  app.run(main)
