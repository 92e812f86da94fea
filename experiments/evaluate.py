r"""Evaluates models trained by experiments/train.py: clean, attacks, AutoAttack, curve.

  python -m experiments.evaluate --workdir=runs/default
  python -m experiments.evaluate --workdir=runs/a --workdir=runs/b \
      --config=experiments/configs/evaluation/default.py --config.attacks=pgd20,autoattack

Several workdirs of one architecture are evaluated together (vmap over their
parameters). Prints a table and writes <output_dir>/evaluation.json and
robustness_curve.png (output_dir defaults to <first workdir>/evaluation):
clean accuracy, robust accuracy per attack, AutoAttack after each component
(only points still robust are attacked), the per-example worst case,
per-class accuracy, the PGD curve over eps and the gradient-masking warnings.
"""

import os

from absl import app, flags, logging
from ml_collections import config_flags

from experiments import pipeline


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so tests can import several binaries."""
  config_flags.DEFINE_config_file(
      "config", os.path.join(os.path.dirname(__file__), "configs", "evaluation", "default.py"),
      "Evaluation configuration (ml_collections file).", lock_config=True)
  flags.DEFINE_multi_string(
      "workdir", None, "Workdir of an experiments.train run (repeat for several models).")
  flags.DEFINE_integer("epoch", None, "Checkpoint epoch (default: the newest).")
  flags.DEFINE_string("output_dir", None,
                      "Where to write the report (default <first workdir>/evaluation).")


FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  logging.set_verbosity(logging.WARNING)
  with pipeline.one_line_errors("experiments.evaluate"):
    pipeline.evaluate_workdirs(FLAGS.config, FLAGS.workdir, FLAGS.output_dir, FLAGS.epoch)


if __name__ == "__main__":
  define_flags()
  flags.mark_flag_as_required("workdir")
  app.run(main)
