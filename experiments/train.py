r"""Trains a model as the config says, then reports clean and PGD accuracy.

  python -m experiments.train --workdir=runs/default
  python -m experiments.train --config=experiments/configs/default.py \
      --config.epochs=2 --workdir=runs/std

Writes <workdir>/metrics.jsonl, checkpoints/, report.json and
training_curves.png. Re-running with the same workdir resumes from the last
checkpoint (a killed run loses nothing).
"""

import os

from absl import flags
from ml_collections import config_flags

from experiments import pipeline
from jaxrobust import distributed


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so tests can import several binaries."""
  distributed.define_flags()  # --coordinator_address, --num_processes, --process_id
  config_flags.DEFINE_config_file(
      "config", os.path.join(os.path.dirname(__file__), "configs", "default.py"),
      "Training configuration (ml_collections file).", lock_config=True)
  flags.DEFINE_string("workdir", "runs/default",
                          "Directory for checkpoints, metrics and the report.")


FLAGS = flags.FLAGS


def run(config, workdir: str) -> dict:
  """Trains (resuming), evaluates and writes the report (`pipeline.train_and_report`)."""
  distributed.initialize_from_flags(FLAGS)  # first: before any other JAX call
  return pipeline.train_and_report(config, workdir)


main = pipeline.report_main("train", run, report=None)


if __name__ == "__main__":
  pipeline.start(define_flags, main)
