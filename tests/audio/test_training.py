"""Speech training runs on the one epoch loop: checkpointed, and a killed run resumes exactly."""

import json
import shutil

import chex
import jax
import numpy as np
import pytest

from jaxrobust import audio, models
from jaxrobust.train import CheckpointMismatchError


def _tones(n=16, samples=256):
  """Two classes of noisy tones (500 Hz vs 1500 Hz at 8 kHz), unit space."""
  rng = np.random.default_rng(0)
  y = np.arange(n) % 2
  t = np.arange(samples) / 8000.0
  w = 0.3 * np.sin(2 * np.pi * np.where(y[:, None] == 0, 500.0, 1500.0) * t
                   + rng.uniform(0, 6.3, (n, 1)))
  return np.asarray(audio.to_unit(w + 0.01 * rng.normal(size=w.shape))), y.astype(np.int32)


def test_killed_run_resumes_to_the_same_weights(tmp_path):
  u, y = _tones()
  # A tiny model: the test is about the loop, and compiling it is most of its cost.
  model = models.make("speech_wave_cnn", num_classes=2, mean=(0.5,), std=(0.5,),
                        filters=8, features=(8,), hidden=8)
  kw = dict(key=jax.random.key(0), epochs=3, batch_size=4, learning_rate=1e-2,
            eval_data=(u, y))
  full = audio.train_classifier(model, u, y, workdir=str(tmp_path), **kw)
  # A kill during epoch 3's save: its checkpoint is lost; the rerun replays epoch 3.
  shutil.rmtree(tmp_path / "checkpoints" / "3")
  resumed = audio.train_classifier(model, u, y, workdir=str(tmp_path), **kw)
  chex.assert_trees_all_close(full, resumed, atol=1e-6)
  with open(tmp_path / "metrics.jsonl") as f:
    records = [json.loads(line) for line in f]
  assert [r["epoch"] for r in records] == [1, 2, 3]
  assert records[-1]["step"] == 3 * (len(y) // 4)
  assert records[-1]["test_accuracy"] > 0.8  # the tones are easy (chance: 0.5)
  other = models.make("speech_wave_cnn", num_classes=2, mean=(0.5,), std=(0.5,))  # wider
  with pytest.raises(CheckpointMismatchError):
    audio.train_classifier(other, u, y, workdir=str(tmp_path), **kw)


def test_bad_training_input():
  u, y = _tones(8)  # batch_size 16 > 8 clips
  model = models.make("speech_wave_cnn", num_classes=2, mean=(0.5,), std=(0.5,),
                        filters=8, features=(8,), hidden=8)
  with pytest.raises(ValueError, match="same number of examples.*inputs 8, labels 4"):
    audio.train_classifier(model, u, y[:4], key=jax.random.key(0), epochs=1)
  with pytest.raises(ValueError, match=r"batch_size must be an integer in \[1, 8\], got 16"):
    audio.train_classifier(model, u, y, key=jax.random.key(0), epochs=1, batch_size=16)
