r"""One-step forecasting, Adam vs SAM vs PSATT (experiments/forecast.py).

Modes:
  ""    the study: 60 epochs, 3 seeds per (series, optimizer).
  tiny  a seconds-long smoke run (2 epochs, 1 seed).

  python -m experiments.forecast --workdir=runs/forecast --config.epochs=60 --config.seeds=3
"""

import ml_collections


def get_config(mode: str = "") -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.epochs = 60           # training epochs per run
  c.seeds = 3             # seeds per (series, optimizer)
  c.rho = 0.05            # SAM / PSATT radius
  c.period = 1            # PSATT refresh period (steps)
  c.batch_size = 32       # windows per step
  c.learning_rate = 1e-3  # Adam learning rate
  if mode == "tiny":
    c.epochs, c.seeds = 2, 1
  elif mode:
    raise ValueError(f"Unknown config mode {mode!r}; valid: '' or 'tiny'.")
  return c
