"""One-step forecasting on statsmodels' series: Adam vs SAM vs PSATT.

The model and its training are `jaxrobust.train.forecast` (an MLP on sliding
windows; the table reports test RMSE in the series' units from the clean
weights, PSATT's perturbed iterate for comparison, and wall time per epoch).
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

from absl import flags

from experiments import pipeline
from jaxrobust.train.forecast import compare


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so tests can import several binaries."""
  pipeline.define_config_flags("forecast.py", "runs/forecast")


FLAGS = flags.FLAGS


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
