"""`python -m bench`: one table and results.json from every bench's rows(quick), peers optional."""

import json
import os
import subprocess
import sys
import types

import pytest

from bench import __main__ as bench_main
from bench import _timing

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HIDDEN_PEERS = ("torch", "torchattacks", "opacus")


def _fake_benches(peer_installed: bool):
  """Fake bench modules: one with a peer, one without rows, one that raises, one missing."""

  def dp_rows(quick):
    peer = _timing.import_peer("torch")
    return [_timing.row("dp", f"step, quick={quick}", 0.5, peer=_timing.peer_name("torch"),
                        peer_s=1.0 if peer else None,
                        peer_status="ok" if peer else "not installed",
                        limit_ratio=1.2, compile_s=3.0)]

  def boom(quick):
    raise RuntimeError("kaput")

  mods = {"dp": types.SimpleNamespace(rows=dp_rows), "sam": types.SimpleNamespace(),
          "train_step": types.SimpleNamespace(rows=boom)}
  return lambda name: mods.get(name)


@pytest.mark.parametrize("peer_installed", [True, False])
def test_run_writes_every_bench_row_with_the_machine(tmp_path, monkeypatch, peer_installed):
  if not peer_installed:
    for name in HIDDEN_PEERS:  # `import torch` now raises ImportError
      monkeypatch.setitem(sys.modules, name, None)
  elif _timing.import_peer("torch") is None:
    pytest.skip("torch is not installed")
  results = str(tmp_path / "out" / "results.json")
  rows, ok = bench_main.run(["dp", "sam", "train_step", "scaling"], True, results,
                            import_bench=_fake_benches(peer_installed))
  assert not ok  # train_step raised
  with open(results) as f:
    payload = json.load(f)
  assert payload["rows"] == rows and payload["quick"] is True
  assert set(payload["seconds"]) == {"dp", "sam", "train_step", "scaling"}
  for key in ("date", "cpu", "cores", "jax", "backend", "device_kind", "load_average"):
    assert payload["machine"][key] is not None, key
  assert all(list(r) == list(_timing.ROW_KEYS) for r in rows)
  by_bench = {r["bench"]: r for r in rows}
  dp = by_bench["dp"]
  assert dp["case"] == "step, quick=True" and dp["ours_s"] == 0.5
  if peer_installed:
    assert dp["peer_status"] == "ok" and dp["speedup"] == 2.0
  else:
    assert dp["peer_status"] == "not installed" and dp["peer_s"] is None
    assert dp["speedup"] is None
  assert by_bench["sam"]["note"] == "not yet: bench.sam has no rows(quick)"
  assert by_bench["scaling"]["note"] == "not yet: bench/scaling.py does not exist"
  assert by_bench["train_step"]["note"] == "error: RuntimeError: kaput"
  table = bench_main.markdown(rows, payload["machine"])
  assert table.count("\n| ") == len(rows) + 1  # header and one line per row
  assert ("not installed" in table) != peer_installed
  with pytest.raises(ValueError, match="valid choices"):
    bench_main.run(["dp", "nope"], True, results)


def test_row_has_exactly_the_interface_keys():
  r = _timing.row("x", "case", 2.0, peer_s=3.0, limit_ratio=1.1)
  assert tuple(r) == _timing.ROW_KEYS
  assert r["speedup"] == 1.5 and r["peer_status"] == "ok" and r["note"] == ""
  assert _timing.row("x", "case", 2.0)["peer_status"] == "n/a"
  with pytest.raises(ValueError, match="Unknown row fields"):
    _timing.row("x", "case", 1.0, speed=2.0)
  with pytest.raises(ValueError, match="peer_status"):
    _timing.row("x", "case", 1.0, peer_status="missing")


def test_every_bench_imports_together():
  """Benches that define absl flags (several define --out) import in one process."""
  names = [n for n in bench_main.BENCHES if bench_main._import_bench(n) is not None]
  assert {"dp", "sam", "train_step", "population"} <= set(names)
  for name in ("dp", "sam", "train_step", "population"):
    assert callable(bench_main._import_bench(name).rows)


@pytest.mark.slow
def test_python_m_bench_quick_without_the_peers(tmp_path):
  """The real `python -m bench --quick`, with torch, torchattacks and opacus hidden."""
  site = tmp_path / "site"
  site.mkdir()
  # An import hook, as if they were not installed (a None in sys.modules would
  # look installed to libraries that probe sys.modules, e.g. scipy's array API).
  (site / "sitecustomize.py").write_text(
      "import importlib.abc, sys\n"
      "class _Hidden(importlib.abc.MetaPathFinder):\n"
      "  def find_spec(self, name, path, target=None):\n"
      f"    if name.partition('.')[0] in {HIDDEN_PEERS!r}:\n"
      "      raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
      "sys.meta_path.insert(0, _Hidden())\n")
  env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), ROOT]))
  results = tmp_path / "results.json"
  proc = subprocess.run([sys.executable, "-m", "bench", "--quick", f"--results={results}"],
                        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
  payload = json.loads(results.read_text())
  rows = payload["rows"]
  errors = [r for r in rows if r["note"].startswith("error")]
  assert proc.returncode == (1 if errors else 0), proc.stderr[-3000:]
  assert not [r for r in errors if r["bench"] in ("dp", "sam", "train_step", "population")]
  assert {"dp", "sam", "train_step", "population"} <= {r["bench"] for r in rows}
  # Rows against ourselves (unrolled vs rolled, curves) or optax keep their peer.
  hidden = [r for r in rows if r["peer"] and not r["peer"].startswith("ours")
            and r["bench"] != "sam"]
  assert {"attacks", "autoattack", "dp"} <= {r["bench"] for r in hidden}
  for r in hidden:
    assert r["peer_status"] == "not installed" and r["peer_s"] is None, r
  assert "| bench |" in proc.stdout
