"""One-step forecasting on statsmodels' series: Adam vs SAM vs PSATT.

The model and its training are `jaxrobust.train.forecast` (an MLP on sliding
windows; the table reports test RMSE in the series' units from the clean
weights, PSATT's perturbed iterate for comparison, and wall time per epoch).
PSATT perturbs along its previous update, w_{t-1} - w_t (the authors' rule,
`jaxrobust.optim.psatt`); on Adam this is not the previous gradient.

  python -m experiments.forecast --workdir=runs/forecast [--epochs=60] [--seeds=3]

Writes <workdir>/forecast.md and forecast.json.

References: Park, Kim et al., "Fast sharpness-aware training for periodic time
series classification and forecasting", Applied Soft Computing 144 (2023);
Foret et al., ICLR 2021.
"""

from __future__ import annotations

import json
import os

from absl import app, flags

from jaxrobust.train.forecast import compare


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so tests can import several binaries."""
  flags.DEFINE_string("workdir", "runs/forecast", "Output directory.")
  flags.DEFINE_integer("epochs", 60, "Training epochs per run.")
  flags.DEFINE_integer("seeds", 3, "Seeds per (series, optimizer).")
  flags.DEFINE_float("rho", 0.05, "SAM / PSATT radius.")
  flags.DEFINE_integer("period", 1, "PSATT refresh period (steps).")
  flags.DEFINE_integer("batch_size", 32, "Windows per step.")
  flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate.")


FLAGS = flags.FLAGS


def markdown(rows: list[dict]) -> str:
  cols = ["series", "optimizer", "seeds", "test_rmse_mean", "test_rmse_std",
          "test_mse_norm", "test_mse_norm_iterate", "naive_rmse", "epoch_ms", "epoch_time_vs_adam"]
  out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
  for r in rows:
    out.append("| " + " | ".join(f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c])
                                 for c in cols) + " |")
  return "\n".join(out)


def main(argv):
  del argv
  os.makedirs(FLAGS.workdir, exist_ok=True)
  runs, rows = compare(epochs=FLAGS.epochs, seeds=FLAGS.seeds, rho=FLAGS.rho,
                       period=FLAGS.period, batch_size=FLAGS.batch_size,
                       learning_rate=FLAGS.learning_rate,
                       report=lambda run: print(json.dumps(run), flush=True))
  table = markdown(rows)
  print(table)
  with open(os.path.join(FLAGS.workdir, "forecast.md"), "w") as f:
    f.write(f"MLP 64-64, Adam lr={FLAGS.learning_rate}, rho={FLAGS.rho}, PSATT along the "
            f"previous update, period {FLAGS.period}, {FLAGS.epochs} epochs, batch "
            f"{FLAGS.batch_size}; test = last 20% of each series (RMSE in the series' units; "
            "naive = repeat the last value).\n\n")
    f.write(table + "\n")
  with open(os.path.join(FLAGS.workdir, "forecast.json"), "w") as f:
    json.dump({"rows": rows, "runs": runs}, f, indent=2)
  print("wrote", FLAGS.workdir)


if __name__ == "__main__":
  define_flags()
  app.run(main)
