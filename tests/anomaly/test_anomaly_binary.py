"""experiments/anomaly.py: its configs, bad config errors, and (slow tier) the tiny run."""

import json
import os

import pytest

from experiments import anomaly as binary
from experiments.configs import anomaly as config_lib


def test_configs_build_their_detectors_and_bad_ones_fail_before_training(tmp_path):
  from jaxrobust import anomaly
  for mode in ("default", "tiny"):
    for section in config_lib.get_config(mode).methods.values():
      anomaly.DETECTORS.from_config(section)
  with pytest.raises(ValueError, match="Unknown config mode"):
    config_lib.get_config("huge")
  config = config_lib.get_config("tiny")
  config.methods.autoencoder.name = "vae"
  with pytest.raises(ValueError, match="Unknown anomaly detector 'vae'"):
    binary.run(config, str(tmp_path))
  assert not os.listdir(tmp_path)


@pytest.mark.slow
def test_tiny_run_writes_report_and_histograms(tmp_path):
  report = binary.run(config_lib.get_config("tiny"), str(tmp_path))
  for name in ("report.json", "report.md", "scores.png"):
    assert os.path.getsize(tmp_path / name) > 0, name
  with open(tmp_path / "report.json") as f:
    assert json.load(f)["results"].keys() == set(config_lib.get_config("tiny").methods)
  for r in report["results"].values():
    for m in ("auroc_known", "auroc_unknown"):
      assert len(r[m]) == 1 and 0 <= r[m + "_mean"] <= 1
