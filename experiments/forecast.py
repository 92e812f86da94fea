"""One-step forecasting on statsmodels' series: Adam vs SAM vs PSATT.

`ForecastMLP` (`jaxrobust.models.forecast`) reads a sliding window of the
normalised series (`jaxrobust.data.timeseries`) and predicts the next value (MSE)
as a change from the window's last value. Each optimizer trains the same model
from the same initialisation for the same epochs on the same shuffles, for a few
seeds; an epoch is one jitted lax.scan. The table reports test RMSE in the
series' units from the clean weights (PSATT's w), PSATT's perturbed iterate
w + e for comparison (test_mse_iterate), and wall time per epoch (median over
epochs after the first, which compiles).
PSATT perturbs along its previous update, w_{t-1} - w_t (the authors' rule,
`jaxrobust.optim.psatt`); on Adam this is not the previous gradient.

  python -m experiments.forecast --workdir=runs/forecast [--config.epochs=60] \
      [--config.seeds=3]

The settings are experiments/configs/forecast.py. Writes <workdir>/forecast.md
and forecast.json.

References: Park, Kim et al., "Fast sharpness-aware training for periodic time
series classification and forecasting", Applied Soft Computing 144 (2023);
Foret et al., ICLR 2021.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from typing import Callable

from absl import flags
import jax
import jax.numpy as jnp
import numpy as np
import optax

from experiments import pipeline
from jaxrobust.data.timeseries import forecasting_split
from jaxrobust.models.forecast import ForecastMLP
from jaxrobust.optim.psatt import psatt, psatt_clean_params
from jaxrobust.optim.sam import sam


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so tests can import several binaries."""
  pipeline.define_config_flags("forecast.py", "runs/forecast")


FLAGS = flags.FLAGS


# Window = two seasonal periods (sunspots ~11 years, co2 52 weeks, elnino 12 months).
WINDOWS = {"sunspots": 22, "co2": 104, "elnino": 24}


def optimizers(lr: float, rho: float, period: int) -> dict[str, optax.GradientTransformation]:
  """Adam, SAM(Adam) and PSATT(Adam), by name."""
  return {"adam": optax.adam(lr), "sam": sam(optax.adam(lr), rho),
          "psatt": psatt(optax.adam(lr), rho, period=period)}


def make_epoch(model, tx, x, y, batch_size):
  """epoch(params, opt_state, key) -> (params, opt_state, mean loss): one
  shuffled pass (remainder dropped) as a lax.scan; jit it once."""
  steps = len(x) // batch_size
  x, y = jnp.asarray(x), jnp.asarray(y[:, 0])

  def batch_loss(params, xb, yb):
    return jnp.mean((model.apply(params, xb) - yb) ** 2)

  def epoch(params, opt_state, key):
    order = jax.random.permutation(key, len(x))[:steps * batch_size].reshape(steps, -1)

    def step(carry, idx):
      params, opt_state = carry
      xb, yb = x[idx], y[idx]
      loss, grads = jax.value_and_grad(batch_loss)(params, xb, yb)
      updates, opt_state = tx.update(grads, opt_state, params,
                                     grad_fn=lambda p: jax.grad(batch_loss)(p, xb, yb))
      return (optax.apply_updates(params, updates), opt_state), loss

    (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), order)
    return params, opt_state, losses.mean()

  return epoch


def run_one(name: str, opt_name: str, tx, seed: int, epochs: int, batch_size: int) -> dict:
  """Trains ForecastMLP on series `name` with tx; test errors and median epoch time.

  test_mse is normalised MSE at the clean weights (PSATT's w), test_mse_iterate
  at the trained iterate (PSATT's w + e); RMSEs are in the series' units.
  """
  d = forecasting_split(name, WINDOWS[name])
  model = ForecastMLP()
  key = jax.random.key(seed)
  params = model.init(jax.random.fold_in(key, 0), d.x_train[:1])
  opt_state = tx.init(params)
  epoch = jax.jit(make_epoch(model, tx, d.x_train, d.y_train, batch_size))
  times = []
  for e in range(epochs):
    tic = time.perf_counter()
    params, opt_state, loss = epoch(params, opt_state, jax.random.fold_in(key, e + 1))
    jax.block_until_ready(loss)
    times.append(time.perf_counter() - tic)
  test_mse = lambda p: float(np.mean(
      (np.asarray(model.apply(p, jnp.asarray(d.x_test))) - d.y_test[:, 0]) ** 2))
  mse = test_mse(psatt_clean_params(params, opt_state))
  mse_iterate = test_mse(params)  # PSATT's perturbed iterate w + e (= w for the others)
  # Naive "next = last" forecast, the baseline any model must beat.
  naive = float(np.mean((d.x_test[:, -1] - d.y_test[:, 0]) ** 2))
  return {"series": name, "optimizer": opt_name, "seed": seed,
          "train_loss": float(loss), "test_mse": mse, "test_mse_iterate": mse_iterate,
          "test_rmse": float(np.sqrt(mse)) * d.std, "naive_rmse": float(np.sqrt(naive)) * d.std,
          "epoch_ms": 1e3 * statistics.median(times[1:] if len(times) > 1 else times)}


def summarise(runs: list[dict]) -> list[dict]:
  """Per (series, optimizer): mean/std test RMSE over seeds and epoch time vs Adam."""
  rows = []
  for name in WINDOWS:
    for opt_name in ("adam", "sam", "psatt"):
      rs = [r for r in runs if r["series"] == name and r["optimizer"] == opt_name]
      if not rs:
        continue
      rmse = np.array([r["test_rmse"] for r in rs])
      base = [r["epoch_ms"] for r in runs if r["series"] == name and r["optimizer"] == "adam"]
      epoch_ms = float(np.median([r["epoch_ms"] for r in rs]))
      rows.append({"series": name, "optimizer": opt_name, "seeds": len(rs),
                   "test_rmse_mean": float(rmse.mean()), "test_rmse_std": float(rmse.std()),
                   "test_mse_norm": float(np.mean([r["test_mse"] for r in rs])),
                   "test_mse_norm_iterate": float(np.mean([r["test_mse_iterate"] for r in rs])),
                   "naive_rmse": rs[0]["naive_rmse"], "epoch_ms": epoch_ms,
                   "epoch_time_vs_adam": epoch_ms / float(np.median(base)) if base else None})
  return rows


def compare(*, epochs: int, seeds: int, rho: float, period: int, batch_size: int,
            learning_rate: float, report: Callable[[dict], None] = lambda run: None
            ) -> tuple[list[dict], list[dict]]:
  """Every (series, optimizer, seed) run, then the summary rows; report(run) after each."""
  runs = []
  for name in WINDOWS:
    for opt_name, tx in optimizers(learning_rate, rho, period).items():
      for seed in range(seeds):
        runs.append(run_one(name, opt_name, tx, seed, epochs, batch_size))
        report(runs[-1])
  return runs, summarise(runs)


def markdown(rows: list[dict]) -> str:
  cols = ["series", "optimizer", "seeds", "test_rmse_mean", "test_rmse_std",
          "test_mse_norm", "test_mse_norm_iterate", "naive_rmse", "epoch_ms", "epoch_time_vs_adam"]
  out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
  for r in rows:
    out.append("| " + " | ".join(f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c])
                                 for c in cols) + " |")
  return "\n".join(out)


def run(config, workdir: str) -> dict:
  """Every (series, optimizer, seed) run; writes forecast.md and forecast.json."""
  pipeline.check_config(config, ints={"epochs": 1, "seeds": 1, "period": 1, "batch_size": 1},
                        reals={"rho": pipeline.NONNEGATIVE,
                               "learning_rate": pipeline.POSITIVE})
  os.makedirs(workdir, exist_ok=True)
  runs, rows = compare(epochs=config.epochs, seeds=config.seeds, rho=config.rho,
                       period=config.period, batch_size=config.batch_size,
                       learning_rate=config.learning_rate,
                       report=lambda r: print(json.dumps(r), flush=True))
  table = markdown(rows)
  print(table)
  with open(os.path.join(workdir, "forecast.md"), "w") as f:
    f.write(f"MLP 64-64, Adam lr={config.learning_rate}, rho={config.rho}, PSATT along the "
            f"previous update, period {config.period}, {config.epochs} epochs, batch "
            f"{config.batch_size}; test = last 20% of each series (RMSE in the series' units; "
            "naive = repeat the last value).\n\n")
    f.write(table + "\n")
  report = {"rows": rows, "runs": runs}
  with open(os.path.join(workdir, "forecast.json"), "w") as f:
    json.dump(report, f, indent=2)
  print("wrote", workdir)
  return report


main = pipeline.report_main("forecast", run, report=None)


if __name__ == "__main__":
  pipeline.start(define_flags, main)
