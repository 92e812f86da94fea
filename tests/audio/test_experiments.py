"""The audio studies end to end on a tiny config (slow tier), and the binaries' one-line errors.

Data: Free Spoken Digit Dataset (Zohar Jackson et al.), CC BY-SA 4.0.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.audio.fsdd import FSDD_DIR, ROOT, requires_fsdd

pytestmark = pytest.mark.slow


def _tiny(config):
  config.fsdd_dir = FSDD_DIR
  config.tasks = ("digits",)
  config.epochs = 2
  config.train_clips = 300
  config.eval_clips = 40
  config.examples = 1
  config.steps = 3
  config.num_samples = 4000
  return config


@requires_fsdd
def test_transfer_study_writes_reports(tmp_path):
  from experiments.configs import audio_transfer
  from experiments.audio_transfer import transfer_study
  config = _tiny(audio_transfer.get_config("quick"))
  config.models = ("speech_mfcc_cnn", "speech_logmel_cnn")
  config.budgets = (0.008,)
  report = transfer_study(config, str(tmp_path), log=lambda m: None)
  task = report["tasks"]["digits"]
  m = np.array(task["attacks"]["noise_injected"]["0.008"]["matrix"])
  assert m.shape == (2, 2) and np.all((m >= 0) & (m <= 1))
  for name in ("transfer_report.json", "transfer_report.md", "transfer_digits.png",
               "examples/ATTRIBUTION.txt"):
    assert os.path.exists(tmp_path / name), name
  ex = task["examples"][0]
  assert os.path.exists(ex["clean_wav"]) and os.path.exists(ex["png"]) and ex["snr_db"] > 5
  with open(tmp_path / "transfer_report.json") as f:
    assert "CC BY-SA 4.0" in json.load(f)["data"]


@requires_fsdd
def test_detection_study_writes_reports(tmp_path):
  from experiments.configs import audio_detection
  from experiments.audio_detection import detection_study
  config = _tiny(audio_detection.get_config("quick"))
  config.other_attacks = ("fgsm",)
  config.square_queries = 20
  config.ssl_epochs = 1
  config.checkpoint_dir = str(tmp_path / "shared_checkpoints")
  report = detection_study(config, str(tmp_path), log=lambda m: None)
  regions = report["tasks"]["digits"]["regions"]
  assert set(regions) == {"full", "speech"}
  rows = regions["speech"]["rows"]
  assert "ensemble" in rows["white-box pgd (train attack)"]
  assert "ssl" in rows["black-box square"]
  # Speech-region perturbations leave the zero padding silent.
  ex = regions["speech"]["examples"][0]
  from jaxrobust.audio.region import speech_mask
  from jaxrobust.data.audio import read_wav
  clean, adv = read_wav(ex["clean_wav"]), read_wav(ex["adv_wav"])
  outside = speech_mask(clean[None])[0] == 0  # may be empty: the clip fills the crop
  assert np.all(adv[outside] == clean[outside]) and np.any(adv != clean)
  for name in ("detection_report.md", "detection_digits_full.png",
               "detection_digits_speech.png"):
    assert os.path.exists(tmp_path / name), name
  # A rerun restores every model and the encoder from the shared checkpoints.
  again = detection_study(config, str(tmp_path / "again"), log=lambda m: None)
  assert again["tasks"]["digits"]["clean_accuracy"] == report["tasks"]["digits"]["clean_accuracy"]


def test_binary_missing_data_is_one_line(tmp_path):
  env = {**os.environ, "TFDS_DATA_DIR": str(tmp_path)}
  env.pop("JAXROBUST_FSDD_DIR", None)
  out = subprocess.run([sys.executable, "-m", "experiments.audio_transfer",
                        f"--fsdd_dir={tmp_path / 'missing'}", f"--workdir={tmp_path / 'w'}"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
  assert out.returncode == 2
  assert out.stderr.strip().splitlines()[-1].startswith(
      "experiments.audio_transfer: error: FSDD folder")
  assert "Traceback" not in out.stderr
