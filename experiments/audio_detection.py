r"""Detecting adversarial audio with an ensemble of feature extractions, on FSDD.

  python -m experiments.audio_detection --workdir=runs/audio_detection
  python -m experiments.audio_detection \
      --config=experiments/configs/audio_detection.py:quick --config.tasks=digits

Per task, trains the victim and surrogate speech models, crafts the detector's
training attack (white-box PGD) and test attacks (other white-box attacks,
PGD transferred from the surrogate, Square), trains one detector per feature
extraction (STFT, log-mel, MFCC, a self-supervised encoder trained here by
masked prediction) on clean vs training-attack clips, and reports AUROC /
accuracy of each and of their ensemble on held-out clips, once with
perturbations anywhere and once restricted to each clip's speech region
(config.regions; detection_report.json/.md, detection_<task>_<region>.png,
examples/). Models and the encoder are checkpointed (config.checkpoint_dir);
a killed run resumes them.

References: the detection study of Kim, Park, Choi, Lee et al. (ensemble of
diverse feature extractions); see jaxrobust/audio/detection.py.
Data: Free Spoken Digit Dataset (Zohar Jackson et al.), CC BY-SA 4.0.
"""

from __future__ import annotations

from experiments import audio_transfer, pipeline
from jaxrobust.audio.study import detection_study


def define_flags() -> None:
  audio_transfer.define_flags("audio_detection.py")


def run(config, workdir: str) -> dict:
  """The detection study (jaxrobust.audio.study.detection_study) on FSDD."""
  pipeline.check_config(config, ints={"ssl_epochs": 0, "square_queries": 1},
                        reals={"budget": pipeline.POSITIVE})
  return audio_transfer.study_run(detection_study)(config, workdir)


main = pipeline.report_main("audio_detection", run, report=None)


if __name__ == "__main__":
  pipeline.start(define_flags, main)
