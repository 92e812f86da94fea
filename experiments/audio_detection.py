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

from absl import app

from experiments.audio_transfer import define_flags, run
from jaxrobust.audio.study import detection_study


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  run("experiments.audio_detection", detection_study)


if __name__ == "__main__":
  define_flags("audio_detection.py")
  app.run(main)
