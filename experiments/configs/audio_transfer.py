"""Transferability of audio adversarial examples on FSDD (experiments/audio_transfer.py).

Budgets are Linf radii in waveform amplitude ([-1, 1]); FSDD clips peak near
0.3-0.9, so 0.002 and 0.008 give median SNRs of roughly 30 and 18 dB.
`--config=experiments/configs/audio_transfer.py:quick` is a minutes-long variant.
fsdd_dir: a folder of FSDD WAVs; "" uses $JAXROBUST_FSDD_DIR, else
<project root>/../shared/data/fsdd if present, else TFDS spoken_digit in data_dir.
Data: Free Spoken Digit Dataset (Zohar Jackson et al.), CC BY-SA 4.0.
"""

import ml_collections


def training(mode: str = "") -> dict:
  """The data and training fields of the speech models, shared with
  audio_detection.py: with one checkpoint_dir the two studies train each model
  once (same seed, data and options)."""
  fields = {
      "seed": 0, "fsdd_dir": "", "data_dir": "",
      "checkpoint_dir": "",  # "": <workdir>/checkpoints; share one between the two studies
      "num_samples": 8000, "tasks": ("digits", "speakers"), "epochs": 8, "batch_size": 64,
      "learning_rate": 3e-3,
      "train_clips": 0}      # 0: the whole training split (2,700 clips)
  if mode == "quick":
    # 0.75 s crops keep 97% of FSDD's clips whole and cut the cost by a quarter; 1,800
    # training clips at batch 32 for 6 epochs give every model 336 steps.
    fields.update(num_samples=6000, train_clips=1800, epochs=6, batch_size=32)
  elif mode:
    raise ValueError(f"Unknown config mode {mode!r}; valid: '', 'quick'.")
  return fields


def get_config(mode: str = "") -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict(training(mode))
  c.models = ("speech_wave_cnn", "speech_logmel_cnn", "speech_mfcc_cnn", "speech_mfcc_gru")
  c.eval_clips = 300         # test clips attacked (the test split has 300)
  c.attacks = ("fgsm", "pgd", "mifgsm", "noise_injected")
  c.budgets = (0.002, 0.008)
  c.steps = 10
  c.noise_scale = 2.0        # noise-injected attack: noise std = noise_scale * eps
  c.noise_stds = (0.005, 0.01, 0.02, 0.05)
  c.batch_size_attack = 100
  c.examples = 3             # clean/adversarial WAV pairs + spectrogram PNGs per task
  c.region = "full"          # "speech": perturb only each clip's non-silent span
  if mode == "quick":
    c.eval_clips = 100
  return c
