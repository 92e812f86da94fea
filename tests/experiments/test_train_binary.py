"""`python -m experiments.train` end to end, as real subprocesses.

The resume test kills a run with SIGKILL in the middle of an epoch, restarts
the same command, and requires bit-identical final parameters to an
uninterrupted run.
"""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import orbax.checkpoint as ocp

REPO = pathlib.Path(__file__).resolve().parents[2]
TINY = "experiments/configs/tiny.py"
# 200 steps per epoch: long enough to land a kill inside an epoch.
RESUME_FLAGS = ["--config.epochs=3", "--config.batch_size=20"]


def _command(workdir, *flags):
  return [sys.executable, "-m", "experiments.train", f"--config={TINY}",
          f"--workdir={workdir}", *flags]


def _run(workdir, *flags, check=True):
  return subprocess.run(_command(workdir, *flags), cwd=REPO, capture_output=True,
                        text=True, timeout=600, check=check)


def _final_params(workdir):
  manager = ocp.CheckpointManager(os.path.join(workdir, "checkpoints"))
  step = manager.latest_step()
  state = manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore()))
  manager.close()
  return step, state["state"]["params"]


def _epochs_logged(workdir):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line)["epoch"] for line in f]


def test_binary_reports_and_a_sigkilled_run_resumes_bit_identically(tmp_path):
  reference = tmp_path / "reference"
  done = _run(reference, *RESUME_FLAGS)
  assert "clean" in done.stdout and "pgd5" in done.stdout, done.stdout
  report = json.loads((reference / "report.json").read_text())
  assert report["num_examples"] == 1000
  assert 0.5 < report["clean_accuracy"] <= 1.0
  assert 0.0 <= report["robust_accuracy"]["pgd5"] <= report["clean_accuracy"]
  assert report["worst_case_accuracy"] == report["robust_accuracy"]["pgd5"]
  png = (reference / "training_curves.png").read_bytes()
  assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000

  killed = tmp_path / "killed"
  proc = subprocess.Popen(_command(killed, *RESUME_FLAGS), cwd=REPO,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  metrics = killed / "metrics.jsonl"
  deadline = time.time() + 300
  while not (metrics.exists() and metrics.read_text().count("\n") >= 1):
    assert proc.poll() is None, "the run ended before it could be killed"
    assert time.time() < deadline
    time.sleep(0.05)
  time.sleep(1.0)  # into epoch 2
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert not (killed / "report.json").exists()  # it really was cut short
  epochs_before = _epochs_logged(killed)
  assert epochs_before and epochs_before[-1] < 3

  _run(killed, *RESUME_FLAGS)
  assert _epochs_logged(killed) == [1, 2, 3]
  step_a, params_a = _final_params(reference)
  step_b, params_b = _final_params(killed)
  assert step_a == step_b == 3
  for a, b in zip(jax.tree.leaves(params_a), jax.tree.leaves(params_b), strict=True):
    np.testing.assert_array_equal(a, b)
  resumed = json.loads((killed / "report.json").read_text())
  assert resumed["clean_accuracy"] == report["clean_accuracy"]
  assert resumed["robust_accuracy"] == report["robust_accuracy"]


def test_bad_flags_fail_with_the_valid_choices(tmp_path):
  result = _run(tmp_path / "bad", "--config.model.name=vgg", check=False)
  assert result.returncode != 0
  assert "Unknown model 'vgg'" in result.stderr and "small_cnn" in result.stderr
  assert "Traceback" not in result.stderr  # one line, not a stack
  result = _run(tmp_path / "bad2", "--config.defense.attack.eps=-0.5", check=False)
  assert result.returncode != 0 and "eps must be" in result.stderr
  # A TRADES section switched to pgd_at keeps beta, an option pgd_at lacks:
  result = subprocess.run(
      [sys.executable, "-m", "experiments.train", f"--config={TINY}:trades",
       f"--workdir={tmp_path / 'bad3'}", "--config.defense.name=pgd_at"],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  assert result.returncode != 0
  assert "['beta'] for defense 'pgd_at'; valid options: ('attack',)" in result.stderr


def test_an_unprepared_tfds_dataset_fails_fast_with_how_to_prepare_it(tmp_path):
  tic = time.time()
  result = subprocess.run(
      [sys.executable, "-m", "experiments.train",
       "--config=experiments/configs/cifar10_pgd_at.py", f"--workdir={tmp_path / 'run'}",
       f"--config.data_dir={tmp_path / 'empty'}"],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  assert result.returncode != 0
  assert "not prepared" in result.stderr and "download_and_prepare" in result.stderr
  assert time.time() - tic < 60  # interpreter start and imports; no training, no download
