r"""Differentially private training (DP-SGD or DP-SAT) on mnist5k, with exact resume.

One run:
  python -m experiments.dp_train --config=experiments/configs/dp_mnist.py \
      --config.method=dp_sat --config.target_epsilon=2 --workdir=runs/dp/sat_e2
A sweep (each cell its own resumable sub-workdir, then a table):
  python -m experiments.dp_train --workdir=runs/dp --methods=dp_sgd,dp_sat \
      --epsilons=1,2,3 --seeds=0,1,2

Training is `jaxrobust.train.dp.fit_dp` (Poisson sampling, per-example
clipping, noise calibrated by dp_accounting for the target (epsilon, delta),
on the library's one epoch loop: a killed run resumes bit-exactly and reports
the same epsilon). Writes metrics.jsonl, checkpoints/ and report.json per run;
a sweep writes dp_results.json and dp_results.md.

References:
  Abadi et al., "Deep Learning with Differential Privacy", CCS 2016.
  Park, Kim, Choi, Lee, "Differentially Private Sharpness-Aware Training", ICML 2023.
"""

from __future__ import annotations

import json
import os

import ml_collections
from absl import flags
from ml_collections import config_flags

from experiments import pipeline
from jaxrobust import _checks
from jaxrobust.train.dp import DP_METHODS, fit_dp, summarize


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so tests can import several binaries."""
  config_flags.DEFINE_config_file(
      "config", os.path.join(os.path.dirname(__file__), "configs", "dp_mnist.py"),
      "DP training configuration (ml_collections file).", lock_config=True)
  flags.DEFINE_string("workdir", "runs/dp", "Output directory.")
  flags.DEFINE_list("methods", [], "Sweep: methods (dp_sgd, dp_sat).")
  flags.DEFINE_list("epsilons", [], "Sweep: target epsilons.")
  flags.DEFINE_list("seeds", [], "Sweep: seeds.")


FLAGS = flags.FLAGS


def sweep(base: ml_collections.ConfigDict, workdir: str, methods, epsilons, seeds) -> None:
  """One resumable sub-workdir per (method, epsilon, seed); the table after each cell."""
  reports = []
  for seed in seeds:
    for eps in epsilons:
      for method in methods:
        cfg = ml_collections.ConfigDict(base.to_dict())
        cfg.method, cfg.target_epsilon, cfg.seed = method, float(eps), int(seed)
        cell = os.path.join(workdir, f"{method}_eps{eps}_seed{seed}")
        path = os.path.join(cell, "report.json")
        if os.path.exists(path):
          with open(path) as f:
            reports.append(json.load(f))
        else:
          reports.append(fit_dp(cfg, cell))
        rows, table = summarize(reports)
        with open(os.path.join(workdir, "dp_results.json"), "w") as f:
          json.dump({"rows": rows, "runs": [{k: v for k, v in r.items() if k != "config"}
                                            for r in reports],
                     "config": base.to_dict()}, f, indent=2)
        with open(os.path.join(workdir, "dp_results.md"), "w") as f:
          f.write(table)
        print(table, flush=True)


def check_config(config: ml_collections.ConfigDict) -> None:
  """Bad names, sizes and privacy budgets fail before any data is read."""
  _checks.check_choice("config.method", config.method, DP_METHODS)
  pipeline.check_config(config, ints={"epochs": 1, "expected_batch_size": 1,
                                      "eval_batch_size": 1, "microbatch_size": 0, "seed": 0},
                        reals={"target_epsilon": pipeline.POSITIVE,
                               "delta": {"low": 0, "low_open": True, "high": 1},
                               "l2_clip": pipeline.POSITIVE, "rho": pipeline.NONNEGATIVE,
                               "optimizer.learning_rate": pipeline.POSITIVE,
                               "optimizer.weight_decay": pipeline.NONNEGATIVE})


def _sweep_values(flag: str, values, parse, **bounds) -> list:
  """--flag's comma-separated values parsed (float or int) and checked."""
  out = []
  for v in values:
    try:
      out.append(parse(v))
    except ValueError:
      raise ValueError(f"--{flag} must list {parse.__name__} values, got {v!r}.") from None
    _checks.check_real(f"--{flag} value", out[-1], **bounds)
  return out


def run(config: ml_collections.ConfigDict, workdir: str) -> dict | None:
  """One DP run (its report), or the sweep of --methods/--epsilons/--seeds."""
  check_config(config)
  if FLAGS.methods or FLAGS.epsilons or FLAGS.seeds:
    methods = FLAGS.methods or list(DP_METHODS)
    for method in methods:
      _checks.check_choice("--methods entry", method, DP_METHODS)
    _sweep_values("epsilons", FLAGS.epsilons, float, **pipeline.POSITIVE)
    _sweep_values("seeds", FLAGS.seeds, int, low=0)
    sweep(config, workdir, methods, FLAGS.epsilons or ["1", "2", "3"], FLAGS.seeds or ["0"])
    return None
  report = fit_dp(config, workdir)
  print(json.dumps({k: v for k, v in report.items() if k != "config"}, indent=2))
  return report


main = pipeline.report_main("dp_train", run, report=None)


if __name__ == "__main__":
  pipeline.start(define_flags, main)
