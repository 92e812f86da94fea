"""No silent wrong answers from training: divergence stops the run, damaged
checkpoints are detected by their checksums, the metrics log stays strict JSON."""

import json
import os
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import tiny
from jaxrobust import train

REPO = pathlib.Path(__file__).resolve().parents[2]


def _state(seed):
  return train.TrainState(step=jnp.asarray(seed, jnp.int32),
                          params={"w": jax.random.normal(jax.random.key(seed), (64, 64))},
                          model_state={}, opt_state=(jnp.zeros(2),))


def _damage(directory):
  """Flips 64 bytes in the middle of the largest file under directory."""
  files = [p for p in pathlib.Path(directory).rglob("*") if p.is_file() and p.name != "sha256.json"]
  largest = max(files, key=lambda p: p.stat().st_size)
  raw = bytearray(largest.read_bytes())
  mid = len(raw) // 2
  raw[mid:mid + 64] = bytes(b ^ 0xFF for b in raw[mid:mid + 64])
  largest.write_bytes(bytes(raw))
  return largest


def _strict_json_lines(path):
  def refuse(token):
    raise ValueError(f"non-JSON token {token}")
  with open(path) as f:
    return [json.loads(line, parse_constant=refuse) for line in f]


def test_metrics_log_writes_non_finite_values_as_null(tmp_path):
  log = train.MetricsLog(str(tmp_path))
  log.write({"epoch": 1, "loss": float("nan"), "acc": [float("inf"), 0.5]})
  assert _strict_json_lines(log.path) == [{"epoch": 1, "loss": None, "acc": [None, 0.5]}]


def test_verify_names_the_damaged_file_and_restore_refuses_it(tmp_path):
  ckpt = train.Checkpointer(str(tmp_path), {"model": "a"})
  ckpt.save(1, _state(1))
  ckpt.save(2, _state(2))
  assert ckpt.verify(1) == [] and ckpt.verify(2) == []
  damaged = _damage(ckpt.directory(2))
  problems = ckpt.verify(2)
  assert len(problems) == 1 and damaged.name in problems[0], problems
  with pytest.raises(train.CheckpointDamagedError, match=r"epoch 2.*checksum.*Intact epochs: \[1\]"):
    ckpt.restore(2, _state(0))
  restored, _ = ckpt.restore(1, _state(0))
  np.testing.assert_array_equal(restored.params["w"], _state(1).params["w"])
  assert ckpt.newest_intact_epoch(report=lambda m: None) == 1
  assert ckpt.epochs() == [1]  # the damaged one moved aside ...
  assert os.path.isdir(tmp_path / "damaged_checkpoints" / "2")
  ckpt.save(2, _state(2))  # ... so the epoch can be saved again
  assert ckpt.verify(2) == []
  ckpt.close()


def test_a_checkpoint_without_manifest_is_used_with_a_warning(tmp_path):
  ckpt = train.Checkpointer(str(tmp_path), {"model": "a"})
  ckpt.save(1, _state(1))
  os.remove(os.path.join(ckpt.directory(1), "sha256.json"))
  said = []
  assert ckpt.verify(1) is None
  assert ckpt.newest_intact_epoch(report=said.append) == 1
  assert "unverified" in said[0]
  ckpt.close()


def _config(epochs, learning_rate=None):
  config = tiny.get_config()
  config.defense = {"name": "standard"}
  config.epochs = epochs
  config.batch_size = 200  # 20 steps per epoch
  if learning_rate is not None:
    config.optimizer.learning_rate = learning_rate
  return config


def test_divergence_stops_the_run_and_keeps_the_last_finite_checkpoint(tmp_path):
  workdir = str(tmp_path)
  train.fit(_config(1), workdir)
  with pytest.raises(train.TrainingDivergedError,
                     match=r"epoch 2: .*loss.*not finite from step \d+.*epoch 1 .*is finite"):
    train.fit(_config(2, learning_rate=1e9), workdir)
  records = _strict_json_lines(os.path.join(workdir, "metrics.jsonl"))
  assert [r["epoch"] for r in records] == [1]  # nothing of the diverged epoch
  ckpt = train.Checkpointer(workdir, {})
  assert ckpt.epochs() == [1] and ckpt.verify(1) == []
  ckpt.close()
  model = train.load_trained(workdir)
  assert all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in jax.tree.leaves(model.variables))


def test_a_damaged_newest_checkpoint_is_reported_and_the_older_one_resumed(tmp_path, capsys):
  """2 epochs, damage epoch 2, run the same command again: epoch 2 is replayed
  from epoch 1 and the run ends bit-identical to an undamaged run."""
  damaged_dir, clean_dir = str(tmp_path / "damaged"), str(tmp_path / "clean")
  train.fit(_config(2), damaged_dir)
  _damage(os.path.join(damaged_dir, "checkpoints", "2"))
  with pytest.raises(train.CheckpointDamagedError, match="epoch 2.*Intact epochs: \\[1\\]"):
    train.load_trained(damaged_dir)  # the evaluator refuses it
  resumed = train.fit(_config(2), damaged_dir)
  assert "checkpoint of epoch 2 is damaged" in capsys.readouterr().out
  reference = train.fit(_config(2), clean_dir)
  for a, b in zip(jax.tree.leaves(resumed.state.params), jax.tree.leaves(reference.state.params)):
    np.testing.assert_array_equal(a, b)
  assert [r["epoch"] for r in _strict_json_lines(os.path.join(damaged_dir, "metrics.jsonl"))] == [
      1, 2]


def test_the_binary_reports_divergence_in_one_line_and_exits_non_zero(tmp_path):
  run = subprocess.run(
      [sys.executable, "-m", "experiments.train", "--config=experiments/configs/tiny.py",
       "--config.epochs=1", "--config.optimizer.learning_rate=1e9", f"--workdir={tmp_path}"],
      cwd=REPO, capture_output=True, text=True, timeout=600,
      env={**os.environ, "JAX_PLATFORMS": "cpu"})
  assert run.returncode == 1, run.stderr[-2000:]
  last = run.stderr.strip().splitlines()[-1]
  assert last.startswith("experiments.train: error: training diverged in epoch 1"), last
  assert "Traceback" not in run.stderr
