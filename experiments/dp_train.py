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
from absl import app, flags, logging
from ml_collections import config_flags

from experiments import pipeline
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


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  logging.set_verbosity(logging.WARNING)
  with pipeline.one_line_errors("experiments.dp_train"):
    if FLAGS.methods or FLAGS.epsilons or FLAGS.seeds:
      sweep(FLAGS.config, FLAGS.workdir, FLAGS.methods or list(DP_METHODS),
            FLAGS.epsilons or ["1", "2", "3"], FLAGS.seeds or ["0"])
    else:
      print(json.dumps({k: v for k, v in fit_dp(FLAGS.config, FLAGS.workdir).items()
                        if k != "config"}, indent=2))


if __name__ == "__main__":
  define_flags()
  app.run(main)
