"""experiments/graddiv.py: its config's variants, and (slow tier) the tiny run end to end."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from experiments import graddiv
from experiments.configs import graddiv as config_lib
from jaxrobust import defenses
from jaxrobust.defenses import DEFENSES

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_variants_build_their_defenses():
  config = config_lib.get_config()
  assert DEFENSES.from_config(graddiv.defense_section(config, "baseline")) == defenses.Standard()
  built = DEFENSES.from_config(graddiv.defense_section(config, "graddiv"))
  assert built == defenses.GradDiv(attack=None, weight=config.graddiv.weight,
                                   penalty=config.graddiv.penalty,
                                   samples=config.graddiv.samples)
  config = config_lib.get_config("adversarial")
  assert isinstance(DEFENSES.from_config(graddiv.defense_section(config, "baseline")),
                    defenses.PGDAT)
  assert DEFENSES.from_config(graddiv.defense_section(config, "graddiv")).attack.steps == 10
  assert graddiv.defense_section(config, "graddiv_w2.5")["weight"] == 2.5
  for bad in ("trades", "baseline_w1", "graddiv_wx", "graddiv_w-1"):
    with pytest.raises(ValueError, match=f"Unknown variant '{bad}'.*baseline"):
      graddiv.defense_section(config, bad)
  with pytest.raises(ValueError, match="Unknown config mode"):
    config_lib.get_config("huge")


def test_bad_eval_setting_fails_before_training(tmp_path):
  config = config_lib.get_config("tiny")
  config.eval.repeats = 0
  with pytest.raises(ValueError, match="config.eval.repeats must be an integer >= 1"):
    graddiv.run(config, str(tmp_path))
  assert not os.listdir(tmp_path)


@pytest.mark.slow
def test_tiny_run_writes_the_report_and_figure(tmp_path):
  report = graddiv.run(config_lib.get_config("tiny"), str(tmp_path))
  for name in ("report.json", "report.md", "graddiv.png"):
    assert os.path.getsize(tmp_path / name) > 0, name
  with open(tmp_path / "report.json") as f:
    assert json.load(f)["variants"].keys() == {"baseline", "graddiv"}
  for variant, r in report["variants"].items():
    for attack in graddiv.ATTACK_NAMES:
      spread = r["accuracy"][attack]
      assert len(spread["per_draw"]) == 3 and 0 <= spread["mean"] <= 1, (variant, attack)
    rate = np.asarray(r["transfer"]["rate"])
    assert rate.shape == (2, 2) and np.all((rate >= 0) & (rate <= 1))
    assert 0 < r["concentration"]["mean_resultant_length"]["mean"] <= 1
    assert os.path.isdir(tmp_path / variant / "checkpoints")
  assert "| graddiv |" in (tmp_path / "report.md").read_text()
  # A second run resumes from the checkpoints: the same trained models, the same report.
  again = graddiv.run(config_lib.get_config("tiny"), str(tmp_path))
  for variant in report["variants"]:
    for attack in graddiv.ATTACK_NAMES:
      assert (again["variants"][variant]["accuracy"][attack]
              == report["variants"][variant]["accuracy"][attack])


@pytest.mark.slow
def test_binary_defines_its_flags():
  result = subprocess.run([sys.executable, "-m", "experiments.graddiv", "--helpshort"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
  assert "Traceback" not in result.stderr, result.stderr[-2000:]
  assert "experiments/graddiv.py:" in result.stdout and "--workdir" in result.stdout
