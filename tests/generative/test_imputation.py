"""Imputers: observed entries untouched, GAN imputers beat the mean on a known structure,
GAIN's hints, training lowers the losses, the RMSE protocol, clear errors, the binary."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import imputation as binary
from experiments.configs import imputation as config_lib
from jaxrobust import generative as gen
from jaxrobust.generative import gain as gain_lib


@pytest.fixture(scope="module")
def correlated():
  """Two perfectly correlated columns (x2 = x1) and an anti-correlated one (x3 = 1 - x1),
  20% MCAR: an entry is lost only where its whole row is (0.2^2 of them)."""
  a = np.random.default_rng(0).uniform(size=400)
  x = np.stack([a, a, 1.0 - a], axis=1)
  missing = np.asarray(gen.missing_mask(x, 0.2, "mcar", key=jax.random.key(1)))
  return x, missing, gen.with_nans(x, missing)


# Small budgets for the trained imputers; a registry name absent here runs at its defaults.
TINY = {"gain": {"num_steps": 3, "batch_size": 16, "hidden": 4},
        "cycle": {"num_steps": 3, "batch_size": 16, "hidden": 4}}
# The conformance cases: every registry name (so a registry line alone brings the test),
# plus option variants worth covering.
CASES = [(name, TINY.get(name, {})) for name in gen.IMPUTERS.names()] + [
    ("gain", {**TINY["gain"], "hint": "paper"})]


@pytest.mark.parametrize("name,options", CASES, ids=lambda case: str(case))
def test_observed_entries_never_change(correlated, name, options):
  """Conformance of every imputer: shape kept, output finite, observed entries unchanged."""
  x, missing, incomplete = correlated
  imputer = gen.IMPUTERS.make(name, **options)
  out = gen.impute(imputer, incomplete, key=jax.random.key(0))
  assert out.shape == x.shape and np.isfinite(out).all()
  np.testing.assert_array_equal(out[~missing], x[~missing])
  # The raw fit_transform keeps them too (up to float32 round-off of the GAN's scaling).
  raw = imputer.fit_transform(incomplete.copy(), key=jax.random.key(0))
  np.testing.assert_allclose(raw[~missing], x[~missing], atol=1e-6)


@pytest.mark.parametrize("name", ["gain", "cycle"])
def test_gan_imputers_beat_the_mean_on_correlated_columns(correlated, name):
  x, missing, incomplete = correlated
  mean = gen.rmse(gen.impute(gen.IMPUTERS.make("mean"), incomplete, key=jax.random.key(0)),
                  x, missing)
  # The best imputer reaches about 0.2 * mean's RMSE here; 500 GAIN steps ~0.5 (cycle ~0.3).
  imputer = gen.IMPUTERS.make(name, num_steps=800, batch_size=64, hidden=16)
  error = gen.rmse(gen.impute(imputer, incomplete, key=jax.random.key(0)), x, missing)
  assert error < 0.6 * mean, (error, mean)


def test_training_lowers_the_losses(correlated):
  """GAIN and the cycle imputer: reconstruction, mask and cycle losses fall."""
  _, _, incomplete = correlated
  scaled, m, _ = gain_lib.normalize(incomplete)
  data = {"x": jnp.asarray(scaled), "m": jnp.asarray(m)}
  step = gen.CycleImputer(hidden=16).step(3)
  state = step.init(jax.random.key(0))
  _, metrics = gen.run_steps(state, data, jax.random.key(1), step_fn=step, num_steps=600,
                             batch_size=64)
  first, last = (jax.tree.map(lambda v: float(jnp.mean(v[s])), metrics)
                 for s in (slice(0, 50), slice(-50, None)))
  for name in ("g_mse", "data_cycle"):
    assert last[name] < 0.7 * first[name], (name, first[name], last[name])
  assert last["d_loss"] < first["d_loss"]
  # Under MCAR the mask network can do no better than the mask's entropy, and gets there.
  p = float(m.mean())
  entropy = -(p * np.log(p) + (1 - p) * np.log(1 - p))
  assert first["f_loss"] > entropy + 0.1 and abs(last["f_loss"] - entropy) < 0.03


def test_hint_mechanisms():
  m = (jax.random.uniform(jax.random.key(0), (2000, 5)) < 0.6).astype(jnp.float32)
  h, weights = gain_lib.hint(m, jax.random.key(1), "code", 0.9)
  assert jnp.all(h <= m) and float(weights.min()) == 1.0
  # b = 0 on 10% of the entries: h hides those observed entries (h = m * b).
  assert float(jnp.sum(m - h) / jnp.sum(m)) == pytest.approx(0.1, abs=0.02)
  h, weights = gain_lib.hint(m, jax.random.key(1), "paper", 0.9)
  # One coordinate per row is hidden (h = 0.5) and only it counts in the losses.
  np.testing.assert_array_equal(jnp.sum(h == 0.5, axis=1), np.ones(2000))
  np.testing.assert_array_equal(weights, (h == 0.5).astype(jnp.float32))
  np.testing.assert_array_equal(jnp.where(h == 0.5, m, h), m)


def test_rmse_protocol():
  complete = np.array([[0.0, 1.0], [1.0, 0.0]])
  imputed = np.array([[0.5, 1.0], [1.0, 0.0]])
  missing = np.array([[True, False], [False, True]])
  # Over the 2 missing entries only: sqrt((0.25 + 0) / 2).
  assert gen.rmse(imputed, complete, missing) == pytest.approx(np.sqrt(0.125))
  scaled = gen.minmax_scale(np.array([[1.0, 5.0], [3.0, 5.0], [2.0, 5.0]]))
  np.testing.assert_allclose(scaled, [[0, 0], [1, 0], [0.5, 0]])
  with pytest.raises(ValueError, match="no missing entry"):
    gen.rmse(imputed, complete, np.zeros((2, 2), bool))
  with pytest.raises(ValueError, match="shapes differ"):
    gen.rmse(imputed[:1], complete, missing)


def test_bad_input_errors(correlated):
  _, _, incomplete = correlated
  key = jax.random.key(0)
  empty = incomplete.copy()
  empty[:, 2] = np.nan
  for name in ("mean", "gain"):
    with pytest.raises(ValueError, match=r"column\(s\) \[2\] of x are entirely missing"):
      gen.impute(gen.IMPUTERS.make(name), empty, key=key)
  with pytest.raises(ValueError, match="float array"):
    gen.impute(gen.IMPUTERS.make("mean"), np.ones((4, 2), int), key=key)
  with pytest.raises(ValueError, match=r"\[examples, features\]"):
    gen.impute(gen.IMPUTERS.make("mean"), incomplete[:, 0], key=key)
  with pytest.raises(ValueError, match="infinite"):
    gen.impute(gen.IMPUTERS.make("mean"), np.where(np.isnan(incomplete), np.inf, incomplete),
               key=key)
  with pytest.raises(ValueError, match="Unknown imputer 'missforest'.*'mean'"):
    gen.IMPUTERS.make("missforest")
  with pytest.raises(ValueError, match="Unknown option.*'n_neighbors'"):
    gen.IMPUTERS.make("mean", n_neighbors=3)
  with pytest.raises(ValueError, match="Unknown GAIN hint 'both'.*'code', 'paper'"):
    gen.IMPUTERS.make("gain", hint="both")
  with pytest.raises(ValueError, match="hint_rate"):
    gen.IMPUTERS.make("cycle", hint_rate=1.5)
  with pytest.raises(ValueError, match="num_steps"):
    gen.impute(gen.IMPUTERS.make("gain", num_steps=0), incomplete, key=key)


def test_checkpointed_gan_imputer(correlated, tmp_path):
  """With a workdir the imputer trains on the resumable driver: a rerun resumes and
  imputes the same values."""
  _, _, incomplete = correlated
  imputer = gen.IMPUTERS.make("gain", num_steps=10, batch_size=200, hidden=4,
                             workdir=str(tmp_path))
  first = gen.impute(imputer, incomplete, key=jax.random.key(0))
  assert (tmp_path / "checkpoints").is_dir()
  again = gen.impute(imputer, incomplete, key=jax.random.key(0))
  np.testing.assert_allclose(first, again, rtol=1e-6)


def test_binary_config_checks_and_report_format():
  config = config_lib.get_config("tiny")
  binary.check_config(config)
  for field, bad, match in (("datasets", ("iris",), "Unknown dataset 'iris'"),
                            ("mechanisms", ("nmar",), "Unknown mechanism 'nmar'"),
                            ("rates", (1.0,), "rates must lie in")):
    c = config_lib.get_config("tiny")
    c[field] = bad
    with pytest.raises(ValueError, match=match):
      binary.check_config(c)
  c = config_lib.get_config("tiny")
  c.methods = ({"name": "mean"}, {"name": "mean"})
  with pytest.raises(ValueError, match="share a label"):
    binary.check_config(c)
  with pytest.raises(ValueError, match="Unknown config mode"):
    config_lib.get_config("huge")
  cells = {}
  for seed, (a, b) in enumerate([(0.2, 0.1), (0.4, 0.3)]):
    for label, value in (("mean", a), ("gain", b)):
      cells[f"{seed}{label}"] = {"dataset": "wine", "mechanism": "mcar", "rate": 0.5,
                                 "seed": seed, "method": label, "rmse": value,
                                 "accuracy": 0.9, "time_s": 1.0, "missing_fraction": 0.5}
  results = binary.summarize(cells, "wine", ["mcar"], [0.5], ["mean", "gain"])
  assert results["mcar"]["0.5"]["gain"]["rmse_mean"] == pytest.approx(0.2)
  assert results["mcar"]["0.5"]["gain"]["rmse_std"] == pytest.approx(0.1)
  report = {"protocol": "p", "datasets": {"wine": {"shape": [178, 13], "complete_accuracy": 1.0,
                                                   "results": results}}}
  report["gan_vs_classical"] = binary.gan_vs_classical(report)
  assert report["gan_vs_classical"]["gain"] == {"wins": 1, "cells": 1, "won": ["wine/mcar/0.5"],
                                                "losses": []}
  text = binary.format_report(report)
  assert "| mcar | 0.5 | 0.3000 ± 0.1000 | **0.2000 ± 0.1000** |" in text


@pytest.mark.slow
def test_tiny_binary_run_writes_report_and_figures(tmp_path):
  report = binary.run(config_lib.get_config("tiny"), str(tmp_path))
  for name in ("report.json", "report.md", "imputation.png", "mnist_imputed.png"):
    assert (tmp_path / name).stat().st_size > 0, name
  with open(tmp_path / "report.json") as f:
    assert set(json.load(f)["datasets"]) == {"wine", "mnist5k"}
  row = report["datasets"]["wine"]["results"]["mcar"]["0.5"]
  assert set(row) == {"mean", "gain", "cycle"}
  assert all(0 < r["rmse_mean"] < 1 for r in row.values())
  # A rerun resumes from cells.jsonl: same numbers.
  again = binary.run(config_lib.get_config("tiny"), str(tmp_path))
  assert again["datasets"]["wine"]["results"] == report["datasets"]["wine"]["results"]
