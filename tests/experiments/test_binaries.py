"""Every experiment binary: importable side by side, and its flags parse when run."""

import importlib
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
# Every module of experiments/ that runs as __main__ is a binary.
ALL_BINARIES = tuple(sorted(p.stem for p in (REPO / "experiments").glob("*.py")
                            if "__main__" in p.read_text()))
# Their flags are parsed in a subprocess each (seconds apiece): a sample of them.
BINARIES = ("defenses_compare", "dp_train", "evaluate", "forecast", "linear_theory",
            "sam_stability", "train")


def test_all_binaries_import_into_one_process():
  # Flags are defined only under __main__; defining them at import made two
  # binaries that share a flag name (workdir, config) unimportable together.
  assert set(BINARIES) <= set(ALL_BINARIES) and "certified" in ALL_BINARIES
  for name in ALL_BINARIES:
    module = importlib.import_module(f"experiments.{name}")
    assert callable(module.main) and callable(module.define_flags), name


@pytest.mark.parametrize("name", BINARIES)
def test_binary_defines_its_flags(name):
  result = subprocess.run([sys.executable, "-m", f"experiments.{name}", "--helpshort"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
  # absl's --helpshort prints the module's flags and exits 1 by design.
  assert "Traceback" not in result.stderr, result.stderr[-2000:]
  assert f"experiments/{name}.py:" in result.stdout, result.stdout[-2000:]
  assert "--workdir" in result.stdout, result.stdout[-2000:]
