"""Detecting adversarial audio on FSDD with an ensemble of feature extractions
(experiments/audio_detection.py).

Detectors are trained on clean vs `train_attack` examples against `victim` and
tested on held-out clips against other white-box attacks and black-box ones
(PGD transferred from `surrogate`, Square on the victim's scores).
`--config=experiments/configs/audio_detection.py:quick` is a minutes-long variant.
Data: Free Spoken Digit Dataset (Zohar Jackson et al.), CC BY-SA 4.0.
"""

import ml_collections


def get_config(mode: str = "") -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.fsdd_dir = ""
  c.data_dir = ""
  c.num_samples = 8000
  c.tasks = ("digits", "speakers")
  c.models = ("speech_logmel_cnn", "speech_wave_cnn")
  c.victim = "speech_logmel_cnn"
  c.surrogate = "speech_wave_cnn"
  c.epochs = 8
  c.batch_size = 64
  c.learning_rate = 3e-3
  c.train_clips = 0
  c.eval_clips = 300
  c.budget = 0.004           # Linf in waveform amplitude
  c.steps = 10
  c.train_attack = "pgd"
  c.other_attacks = ("fgsm", "mifgsm", "noise_injected")
  c.square_queries = 300     # 0: no Square scenario
  c.representations = ("stft", "mel", "mfcc")
  c.ssl_epochs = 4           # contrastive encoder epochs (0: no self-supervised detector)
  c.batch_size_attack = 100
  c.examples = 2
  if mode == "quick":
    c.epochs = 4
    c.train_clips = 1200
    c.eval_clips = 200
    c.ssl_epochs = 2
    c.square_queries = 100
  elif mode:
    raise ValueError(f"Unknown config mode {mode!r}; valid: '', 'quick'.")
  return c
