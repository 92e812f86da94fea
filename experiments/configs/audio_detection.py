"""Detecting adversarial audio on FSDD with an ensemble of feature extractions
(experiments/audio_detection.py).

Detectors are trained on clean vs `train_attack` examples against `victim` and
tested on held-out clips against other white-box attacks and black-box ones
(PGD transferred from `surrogate`, Square on the victim's scores).
`--config=experiments/configs/audio_detection.py:quick` is a minutes-long variant.
Data: Free Spoken Digit Dataset (Zohar Jackson et al.), CC BY-SA 4.0.
"""

import ml_collections

from experiments.configs import audio_transfer


def get_config(mode: str = "") -> ml_collections.ConfigDict:
  # The models train as in audio_transfer.py (same fields), so with a shared
  # checkpoint_dir this study restores them instead of training again.
  c = ml_collections.ConfigDict(audio_transfer.training(mode))
  c.models = ("speech_logmel_cnn", "speech_wave_cnn")
  c.victim = "speech_logmel_cnn"
  c.surrogate = "speech_wave_cnn"
  c.eval_clips = 300
  c.budget = 0.004           # Linf in waveform amplitude
  c.steps = 10
  c.train_attack = "pgd"
  c.other_attacks = ("fgsm", "mifgsm", "noise_injected")
  c.square_queries = 300     # 0: no Square scenario
  c.representations = ("stft", "mel", "mfcc")
  c.ssl_epochs = 4           # self-supervised encoder epochs (0: no self-supervised detector)
  c.ssl_objective = "masked"  # or "contrastive" (jaxrobust.audio.ssl.OBJECTIVES)
  # "full": perturbations anywhere; "speech": only in each clip's non-silent span (the zero
  # padding of FSDD's short clips would otherwise expose any perturbation).
  c.regions = ("full", "speech")
  c.batch_size_attack = 100
  c.examples = 2
  if mode == "quick":
    c.eval_clips = 200
    c.ssl_epochs = 3
    c.square_queries = 100
  return c
