"""The catastrophic-overfitting monitor: detection rule and config errors."""

import pytest

from experiments.configs import tiny
from jaxrobust import data, defenses, train
from jaxrobust.train import loop
from jaxrobust.train.monitor import FGSM_KEY, PGD_KEY, detect_collapse


def _records(pgd, fgsm):
  return [{"epoch": i + 1, PGD_KEY: p, FGSM_KEY: f} for i, (p, f) in enumerate(zip(pgd, fgsm))]


def test_a_synthetic_collapse_is_flagged_at_its_epoch():
  records = _records(pgd=[0.30, 0.45, 0.50, 0.42, 0.05, 0.0],
                     fgsm=[0.50, 0.60, 0.65, 0.66, 0.90, 0.97])
  assert detect_collapse(records, drop=0.2) == 5
  # A PGD drop with FGSM falling too is ordinary degradation, not CO.
  assert detect_collapse(_records([0.5, 0.2], [0.6, 0.3]), drop=0.2) is None
  # Small dips are not collapses; steady training is not flagged.
  assert detect_collapse(_records([0.5, 0.4, 0.45], [0.6, 0.7, 0.7]), drop=0.2) is None
  assert detect_collapse([], drop=0.2) is None
  # A collapse before PGD accuracy ever rose: FGSM far above PGD from epoch 3.
  early = _records(pgd=[0.06, 0.03, 0.04, 0.02], fgsm=[0.15, 0.45, 0.55, 0.69])
  assert detect_collapse(early, drop=0.2, gap=0.5) == 3
  assert detect_collapse(early, drop=0.2, gap=0.7) is None


@pytest.mark.parametrize("field, value, match", [
    ("batch_size", 0, "monitor.batch_size"),
    ("batch_size", 10**6, "monitor.batch_size"),
    ("pgd_steps", 0, "monitor.pgd_steps"),
    ("drop", 1.5, "drop"),
    ("gap", 0.0, "gap"),
])
def test_bad_monitor_config_fails_clearly(field, value, match):
  config = tiny.get_config()
  config.monitor.enabled = True
  config.monitor[field] = value
  test = data.load("mnist5k", "test")
  model = train.build_model(config, test.info)
  with pytest.raises(ValueError, match=match):
    loop.build_monitor(config, model, test, key=None,
                       defense=defenses.DEFENSES.from_config(config.defense.to_dict()))


def test_negative_absum_weight_fails_clearly():
  config = tiny.get_config()
  config.regularizer.absum = -1.0
  with pytest.raises(ValueError, match="regularizer.absum"):
    loop.build_prox(config, 100)
