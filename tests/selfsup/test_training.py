"""MP-SSL training (one short epoch per weighting), the linear probe, and the binary."""

import json
import os

import jax
import numpy as np
import pytest

from experiments import mpssl as binary
from experiments.configs import mpssl as config_lib
from jaxrobust import data, selfsup

ENCODER = {"name": "small_cnn", "features": (4,), "hidden": 8}


@pytest.mark.parametrize("weighting", [
    pytest.param("uniform", marks=pytest.mark.slow), "min_norm", "min_norm_ub"])
def test_one_epoch_per_weighting(tmp_path, weighting):
  train = data.load("mnist5k", "train")
  fit = selfsup.fit_pretext(train.images[:64], train.info, tasks=["rotation", "solarize"],
                            encoder=ENCODER, feature_dim=4, weighting=weighting,
                            workdir=str(tmp_path), epochs=1, batch_size=32)
  last = fit.history[-1]
  alpha = [last["train_alpha_rotation"], last["train_alpha_solarize"]]
  assert sum(alpha) == pytest.approx(1, abs=1e-5) and min(alpha) >= 0
  if weighting == "uniform":
    assert alpha == pytest.approx([0.5, 0.5])
  assert np.isfinite(last["train_loss"])
  features = selfsup.encode(fit, train.images[:10])
  assert features.shape == (10, 4) and np.isfinite(features).all()
  # Resumed from epoch 1 (the run above) to 2 = 2 epochs straight.
  kw = dict(tasks=["rotation", "solarize"], encoder=ENCODER, feature_dim=4,
            weighting=weighting, epochs=2, batch_size=32)
  resumed = selfsup.fit_pretext(train.images[:64], train.info, workdir=str(tmp_path), **kw)
  whole = selfsup.fit_pretext(train.images[:64], train.info, workdir=str(tmp_path / "b"), **kw)
  jax.tree.map(np.testing.assert_array_equal, resumed.state, whole.state)
  assert resumed.history == [{**r, "train_time_s": resumed.history[i]["train_time_s"]}
                             for i, r in enumerate(whole.history)]


def test_linear_probe_and_bad_input(tmp_path):
  rng = np.random.default_rng(0)
  y = rng.integers(0, 2, 200)
  x = rng.normal(size=(200, 3)) + 3 * y[:, None]  # separable
  assert selfsup.linear_probe(x[:100], y[:100], x[100:], y[100:]) > 0.95
  with pytest.raises(ValueError, match=r"\[n, d\]"):
    selfsup.linear_probe(x[:, 0], y, x, y)
  train = data.load("mnist5k", "train")
  with pytest.raises(ValueError, match="Unknown weighting 'pcgrad'"):
    selfsup.fit_pretext(train.images[:8], train.info, tasks=["rotation"], encoder=ENCODER,
                        feature_dim=4, weighting="pcgrad", workdir=str(tmp_path), epochs=1,
                        batch_size=8)
  config = config_lib.get_config("tiny")
  config.variants.min_norm.tasks = ("rotation", "jigsaw")
  with pytest.raises(ValueError, match="Unknown pretext task 'jigsaw'"):
    binary.run(config, str(tmp_path / "run"))
  assert not os.path.exists(tmp_path / "run")


@pytest.mark.slow
def test_tiny_run_writes_report_and_figure(tmp_path):
  report = binary.run(config_lib.get_config("tiny"), str(tmp_path))
  for name in ("report.json", "report.md", "mpssl.png"):
    assert os.path.getsize(tmp_path / name) > 0, name
  with open(tmp_path / "report.json") as f:
    assert set(json.load(f)["results"]) == {"random", "min_norm"}
  assert 0.1 < report["results"]["random"]["accuracy_mean"] <= 1
