r"""Transferability of audio adversarial examples and the noise-injected attack, on FSDD.

  python -m experiments.audio_transfer --workdir=runs/audio_transfer
  python -m experiments.audio_transfer \
      --config=experiments/configs/audio_transfer.py:quick --config.tasks=digits

Trains the speech models of config.models on each task (digits: commands,
speakers: speaker identification), crafts FGSM / PGD / MI-FGSM / noise-injected
examples on each at each Linf budget (waveform amplitude), and writes the
source x target fooling matrices, each model's noise sensitivity and its
correlation with transfer rates to transfer_report.json/.md, figures
transfer_<task>.png, and clean/adversarial WAV pairs with spectrograms to
examples/. --fsdd_dir (or $JAXROBUST_FSDD_DIR) points at FSDD; by default
<project root>/../shared/data/fsdd, else TFDS spoken_digit.

References: Kim, Park & Lee, "Generating Transferable Adversarial Examples for
Speech Classification", Pattern Recognition 137 (2023).
Data: Free Spoken Digit Dataset (Zohar Jackson et al.), CC BY-SA 4.0.
"""

from __future__ import annotations

import os

from absl import flags

from experiments import pipeline
from jaxrobust.audio.study import transfer_study

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_FSDD = os.path.join(ROOT, os.pardir, "shared", "data", "fsdd")


def define_flags(config: str = "audio_transfer.py") -> None:
  """The flags of an audio binary (config: its default config file's name)."""
  pipeline.define_config_flags(config, f"runs/{config[:-3]}",
                               "Study configuration (ml_collections file).")
  flags.DEFINE_string("fsdd_dir", None, "FSDD folder (overrides config.fsdd_dir).")


def resolve_fsdd(config) -> None:
  """config.fsdd_dir from --fsdd_dir, $JAXROBUST_FSDD_DIR or the shared folder (if present)."""
  chosen = (flags.FLAGS.fsdd_dir or config.fsdd_dir or os.environ.get("JAXROBUST_FSDD_DIR")
            or (SHARED_FSDD if os.path.isdir(SHARED_FSDD) else ""))
  with config.unlocked():
    config.fsdd_dir = chosen


def check_config(config) -> None:
  """The sizes and budgets shared by the audio studies fail before any data is read."""
  pipeline.check_config(config, ints={
      "epochs": 1, "batch_size": 1, "batch_size_attack": 1, "steps": 1, "eval_clips": 1,
      "train_clips": 0, "num_samples": 1, "seed": 0, "examples": 0},
      reals={"learning_rate": pipeline.POSITIVE})


def study_run(study):
  """run(config, workdir) of an audio binary: `study` on config with its FSDD folder."""
  def run(config, workdir: str) -> dict:
    check_config(config)
    resolve_fsdd(config)
    report = study(config, workdir, log=lambda m: print(m, flush=True))
    print(f"reports in {workdir}")
    return report
  return run


def run(config, workdir: str) -> dict:
  """The transfer study (jaxrobust.audio.study.transfer_study) on FSDD."""
  pipeline.check_config(config, reals={"budgets": pipeline.POSITIVE,
                                       "noise_scale": pipeline.POSITIVE,
                                       "noise_stds": pipeline.POSITIVE})
  return study_run(transfer_study)(config, workdir)


main = pipeline.report_main("audio_transfer", run, report=None)


if __name__ == "__main__":
  pipeline.start(define_flags, main)
