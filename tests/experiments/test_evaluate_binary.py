"""experiments/evaluate.py (pipeline.evaluate_workdirs): restores train.py workdirs, evaluates them together, writes the report."""

import json

import pytest

from experiments import pipeline
from experiments.configs.evaluation import tiny


def test_evaluates_two_workdirs_and_writes_the_report(tiny_runs, tmp_path, capsys):
  config = tiny.get_config()
  reports = pipeline.evaluate_workdirs(config, tiny_runs, output_dir=str(tmp_path))
  out = capsys.readouterr().out
  for row in ("clean", "fgsm", "pgd5", "autoattack: +apgd-ce", "autoattack: +square",
              "worst case"):
    assert row in out, out
  written = json.loads((tmp_path / "evaluation.json").read_text())
  assert [m["workdir"] for m in written["models"]] == tiny_runs
  for r in written["models"]:
    assert r["num_examples"] == 200
    after = list(r["ensembles"]["autoattack"]["after"].values())
    assert after == sorted(after, reverse=True)  # cumulative: never rises
    assert r["worst_case_accuracy"] <= min(r["robust_accuracy"].values())
    assert len(r["curve"]["accuracy"]) == 4 and len(r["per_class_accuracy"]["clean"]) == 10
    assert set(r["diagnostics"]["stats"]) >= {"zero_gradients", "huge_eps_accuracy"}
  assert reports[0]["clean_accuracy"] != reports[1]["clean_accuracy"] or (
      reports[0]["robust_accuracy"] != reports[1]["robust_accuracy"])
  png = (tmp_path / "robustness_curve.png").read_bytes()
  assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_inputs(tiny_runs, tmp_path):
  config = tiny.get_config()
  with pytest.raises(ValueError, match="workdir"):
    pipeline.evaluate_workdirs(config, [])
  config.attacks = "pgd5,nonsense"
  with pytest.raises(ValueError, match="Unknown attack 'nonsense'"):
    pipeline.evaluate_workdirs(config, tiny_runs, output_dir=str(tmp_path))
