"""experiments/forecast.py: the forecaster learns, and PSATT is scored at its clean weights."""

import optax

from jaxrobust.optim.psatt import psatt
from experiments.forecast import run_one, summarise


def test_forecaster_beats_the_naive_forecast_and_psatt_reports_both_weights():
  adam = run_one("sunspots", "adam", optax.adam(1e-3), seed=0, epochs=3, batch_size=32)
  assert adam["test_rmse"] < 0.8 * adam["naive_rmse"], adam
  assert adam["test_mse"] == adam["test_mse_iterate"]  # no perturbation outside PSATT
  tx = psatt(optax.adam(1e-3), 0.05, period=2)
  run = run_one("sunspots", "psatt", tx, seed=0, epochs=3, batch_size=32)
  assert run["test_mse"] != run["test_mse_iterate"]  # clean w vs trained iterate w + e
  rows = summarise([adam, run])
  assert [r["optimizer"] for r in rows] == ["adam", "psatt"]
  assert rows[1]["epoch_time_vs_adam"] > 0
