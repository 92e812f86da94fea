"""experiments/domain_adaptation.py: config checks, the feature-gap statistics, and a tiny
run of the binary (two methods by default; every method in the slow tier)."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from experiments import domain_adaptation as da
from experiments.configs import domain_adaptation as config_lib

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_bad_config_fails_before_training(tmp_path):
  for field, value, match in (
      ("directions", ("digits->svhn",), "Unknown direction 'digits->svhn'"),
      ("methods", ("source_only", "mmd"), "Unknown adaptation method 'mmd'"),
      ("seeds", 0, "config.seeds must be an integer >= 1"),
      ("plot_direction", "mnist5k->digits", "plot_direction 'mnist5k->digits' is not one")):
    config = config_lib.get_config("tiny")
    config[field] = value
    with pytest.raises(ValueError, match=match):
      da.run(config, str(tmp_path))
  assert not os.listdir(tmp_path)
  with pytest.raises(ValueError, match="Unknown config mode"):
    config_lib.get_config("huge")


def test_feature_gaps():
  rng = np.random.default_rng(0)
  centres = 5 * rng.normal(size=(3, 4))
  y = np.repeat(np.arange(3), 20)
  f = centres[y] + 0.1 * rng.normal(size=(60, 4))
  aligned = da.feature_gaps(f, y, f + 0.01, y)
  assert aligned["class_gap"] < 0.01 and aligned["domain_gap"] < 0.01
  swapped = da.feature_gaps(f, y, f, (y + 1) % 3)  # same marginal, classes moved
  assert swapped["class_gap"] > 0.5 and swapped["domain_gap"] < 1e-9


def _check_report(report, workdir, methods):
  for name in ("report.json", "report.md", "accuracy.png", "features.png"):
    assert os.path.getsize(workdir / name) > 0, name
  with open(workdir / "report.json") as f:
    assert set(json.load(f)["results"]["digits->mnist5k"]) == set(methods)
  for r in report["results"]["digits->mnist5k"].values():
    assert 0 <= r["target_accuracy"]["mean"] <= 1 and r["target_accuracy"]["std"] == 0
    assert r["class_gap"]["mean"] > 0
  assert "| class_conditional |" in (workdir / "report.md").read_text()


def test_tiny_run_writes_the_report_and_figures(tmp_path):
  config = config_lib.get_config("tiny")
  config.methods = ("source_only", "class_conditional")
  report = da.run(config, str(tmp_path))
  _check_report(report, tmp_path, config.methods)


@pytest.mark.slow
def test_tiny_binary_runs_every_method(tmp_path):
  result = subprocess.run(
      [sys.executable, "-m", "experiments.domain_adaptation",
       "--config=experiments/configs/domain_adaptation.py:tiny", f"--workdir={tmp_path}"],
      cwd=REPO, capture_output=True, text=True, timeout=900)
  assert result.returncode == 0, result.stderr[-2000:]
  with open(tmp_path / "report.json") as f:
    report = json.load(f)
  _check_report(report, tmp_path, config_lib.METHOD_NAMES)
