"""experiments/sam_stability.py on its configs: the tiny run writes its outputs, and
the authors' demonstration shows what Kim et al.'s code shows."""

import json
import os

import numpy as np
import pytest

from experiments import sam_stability
from experiments.configs import sam_stability as config_lib


def _rows(rows, problem):
  return {(r["optimizer"], r["rho"]): r for r in rows if r["problem"] == problem}


@pytest.mark.slow
def test_tiny_run_writes_the_table_json_and_figure(tmp_path):
  rows = sam_stability.run(config_lib.get_config("tiny"), str(tmp_path))
  for name in ("sam_stability.md", "sam_stability.json", "sam_stability.png"):
    assert os.path.getsize(tmp_path / name) > 0, name
  with open(tmp_path / "sam_stability.json") as f:
    assert json.load(f) == rows
  assert {r["problem"] for r in rows} == {"saddle", "beale"}
  assert all(r["steps"] == 50 for r in rows)


def test_authors_saddle_demo_gd_escapes_and_sam_is_captured(tmp_path):
  config = config_lib.get_config("authors")
  with config.unlocked():
    del config.problems["beale"]
  rows = _rows(sam_stability.run(config, str(tmp_path)), "saddle")
  gd, sam = rows[("gd", 0.0)], rows[("sam", 0.5)]
  assert gd["escaped"] == "1/1" and gd["median_escape_step"] < 300 and gd["final_y"] < -100
  # Normalised SAM, rho 0.5 from (-3, -0.01): trapped within O(lr rho) of the saddle.
  assert sam["escaped"] == "0/1" and sam["final_distance_to_saddle"] < 0.01


@pytest.mark.slow
def test_authors_beale_demo_large_rho_sam_is_captured_by_the_saddle(tmp_path):
  rows = _rows(sam_stability.run(config_lib.get_config("authors"), str(tmp_path)), "beale")
  steps = {r["steps"] for r in rows.values()}
  assert steps == {87683}  # GD's steps until the authors' stall rule stops it
  for key in (("gd", 0.0), ("sam", 0.1)):  # past the saddle, on to the minimum
    assert rows[key]["final_distance_to_minimum"] < 0.6, key
  for key in (("sam", 0.5), ("sam", 1.0)):  # captured at (0, 1), loss 14.2
    assert rows[key]["final_distance_to_saddle"] < 1e-3, key
    assert rows[key]["escaped"] == "0/1"


def test_unknown_config_mode_raises():
  with pytest.raises(ValueError, match="Unknown config mode"):
    config_lib.get_config("huge")


def test_gd_converged_step_follows_the_authors_rules():
  minimum = np.array([3.0, 0.5])
  rules = dict(sam_stability.GD_STOP, stall_window=5, loss_patience=3)
  # Position: the first iterate within pos_tol of the minimum (steps counted from 1).
  ws = np.stack([np.linspace(0, 3, 11), np.full(11, 0.5)], 1)
  losses = np.linspace(10, 0, 11)
  assert sam_stability.gd_converged_step(ws, losses, minimum, **rules) == 10
  # Stall: within stall_tol (0.55) and the last 5 iterates moved < 1e-5 each.
  ws = np.concatenate([np.array([[1.0, 0.5]]), np.tile([[2.5, 0.5]], (10, 1))])
  ws[1:, 0] += 1e-6 * np.arange(10)
  assert sam_stability.gd_converged_step(ws, np.linspace(10, 1, 11), minimum, **rules) == 5
  # Loss: 3 steps in a row with a relative change below 1e-8.
  ws = np.stack([np.linspace(0, 1, 11), np.zeros(11)], 1)
  losses = np.array([5.0, 4, 3, 2, 2, 2, 2, 2, 1, 1, 1])
  # Flat changes at the losses of ws[4], ws[5], ws[6]; ws[6]'s loss is the one step 7
  # computes, so the loop stops after step 7.
  assert sam_stability.gd_converged_step(ws, losses, minimum, **rules) == 7
  assert sam_stability.gd_converged_step(ws, np.arange(11.0, 0, -1), minimum, **rules) is None
