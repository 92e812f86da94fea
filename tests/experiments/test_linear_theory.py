"""experiments/linear_theory.py end to end on its tiny config: every figure and table is written."""

import json
import os

import pytest

from experiments import linear_theory
from experiments.configs import linear_theory as config_lib

FIGURES = ("loss_surfaces.png", "gradient_lipschitz.png", "trajectory_lipschitz.png",
           "eigenvalue_vs_eps.png")


@pytest.mark.slow
def test_tiny_run_writes_figures_and_tables(tmp_path):
  table = linear_theory.run(config_lib.get_config("tiny"), str(tmp_path))
  for name in FIGURES + ("table.json", "table.md"):
    assert os.path.getsize(tmp_path / name) > 0, name
  with open(tmp_path / "table.json") as f:
    assert json.load(f)["logistic_regression"] == table["logistic_regression"]
  rows = [r for r in table["logistic_regression"] if r["dataset"].startswith("gaussians")]
  assert [r["eps"] for r in rows] == [0.0, 0.4]
  assert rows[1]["top_exact"] > rows[0]["top_exact"]  # sharper with eps
  across = table["smoothness"]["across_zero"]
  assert across["linf"][-1] > 10 * across["l2"][-1]  # the Linf gradient jumps
  assert len(table["network"]) == 2


def test_unknown_config_mode_raises():
  with pytest.raises(ValueError, match="Unknown config mode"):
    config_lib.get_config("huge")
