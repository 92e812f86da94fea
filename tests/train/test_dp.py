"""jaxrobust.train.dp: a killed run resumes exactly, accountant included."""

import json
import os
import shutil

import pytest

from experiments.configs import dp_mnist
from jaxrobust.train.dp import fit_dp


def _config():
  c = dp_mnist.get_config()
  c.dataset = "digits"
  c.model = {"name": "linear"}
  c.epochs = 2
  c.expected_batch_size = 64
  c.method = "dp_sat"
  c.progress = False
  return c


def _records(workdir):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [{k: v for k, v in json.loads(line).items() if k != "train_time_s"} for line in f]


def test_killed_run_resumes_exactly(tmp_path):
  full = fit_dp(_config(), str(tmp_path / "full"))
  assert full["steps_done"] == full["steps"] == 2 * full["steps_per_epoch"]
  assert full["epsilon_rdp"] == pytest.approx(2.0, rel=0.01)
  assert full["epsilon_pld"] <= full["epsilon_rdp"]

  # Same run, killed after epoch 1's checkpoint (epoch 2's lost), then restarted.
  killed = str(tmp_path / "killed")
  fit_dp(_config(), killed)
  shutil.rmtree(os.path.join(killed, "checkpoints", "2"))
  os.remove(os.path.join(killed, "report.json"))
  resumed = fit_dp(_config(), killed)
  assert _records(killed) == _records(str(tmp_path / "full"))
  assert {k: v for k, v in resumed.items()} == full
