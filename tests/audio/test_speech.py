"""Speech models learn digits; attacks keep to the budget and the box on waveforms;
a detector tells adversarial clips from clean ones.

Data: Free Spoken Digit Dataset (Zohar Jackson et al.), CC BY-SA 4.0.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import audio, models
from jaxrobust.audio import detection, transfer
from tests.audio.fsdd import FSDD_DIR, requires_fsdd

pytestmark = requires_fsdd


@pytest.fixture(scope="module")
def trained():
  """speech_mfcc_cnn trained 4 epochs on 600 training clips (every 4th: all digits and
  speakers); tested on 100 test clips. Returns (logits_fn, u, y, clean accuracy)."""
  from jaxrobust.data import audio as fsdd
  # 0.75 s crops: 97% of the clips whole, a quarter cheaper than 1 s.
  train = fsdd.load_fsdd("train", path=FSDD_DIR, num_samples=6000)
  test = fsdd.load_fsdd("test", path=FSDD_DIR, num_samples=6000)
  pick = np.arange(0, len(train.labels), 4)[:600]  # clips are ordered by digit: all digits
  model = models.make("speech_mfcc_cnn", num_classes=10, mean=(0.5,), std=(0.5,))
  variables = audio.train_classifier(model, audio.to_unit(train.waveforms[pick]),
                                     train.labels[pick], key=jax.random.key(0), epochs=4,
                                     batch_size=50, learning_rate=3e-3)
  logits_fn = jax.jit(models.as_logits_fn(model, variables))
  idx = np.arange(0, 300, 3)
  u, y = np.asarray(audio.to_unit(test.waveforms[idx])), test.labels[idx]
  return logits_fn, u, y, audio.accuracy(logits_fn, u, y)


def test_model_learns_digits(trained):
  assert trained[3] > 0.6  # chance is 0.1


@pytest.mark.parametrize("name", ["speech_wave_cnn", "speech_logmel_cnn", "speech_mfcc_cnn",
                                  "speech_mfcc_gru"])
def test_registry_models_take_unit_waveforms(name):
  model = models.make(name, num_classes=6, mean=(0.5,), std=(0.5,))
  x = jnp.full((2, 1024), 0.5)
  variables = model.init(jax.random.key(0), x)
  assert model.apply(variables, x).shape == (2, 6)
  with pytest.raises(ValueError, match=r"waveforms \[batch, samples\]"):
    model.apply(variables, x[..., None])
  with pytest.raises(TypeError, match="to_unit"):
    model.apply(variables, jnp.zeros((2, 1024), jnp.int32))


@pytest.mark.parametrize("name", transfer.ATTACK_NAMES)
def test_attacks_respect_budget_and_box(trained, name):
  logits_fn, u, y, clean = trained
  amplitude = 0.01
  adv = transfer.attack_in_batches(transfer.make_attack(name, amplitude), logits_fn, u, y,
                                   key=jax.random.key(1))
  w, w_adv = audio.from_unit(u), audio.from_unit(adv)
  assert float(jnp.abs(w_adv - w).max()) <= amplitude + 1e-6
  assert float(w_adv.min()) >= -1.0 and float(w_adv.max()) <= 1.0
  assert float(jnp.median(audio.snr_db(w, w_adv))) > 5.0
  assert audio.accuracy(logits_fn, adv, y) < clean - 0.3


def test_snr_and_units():
  w = jnp.ones((1, 100)) * 0.5
  np.testing.assert_allclose(audio.snr_db(w, w + 0.05), [20.0], atol=1e-4)
  np.testing.assert_allclose(audio.from_unit(audio.to_unit(w)), w)
  assert audio.unit_eps(0.02) == 0.01
  with pytest.raises(ValueError, match=">= 0"):
    audio.unit_eps(-1.0)


def test_detector_beats_chance(trained):
  logits_fn, u, y, _ = trained
  adv = transfer.attack_in_batches(transfer.make_attack("pgd", 0.005), logits_fn, u, y,
                                   key=jax.random.key(2))
  w, w_adv = np.asarray(audio.from_unit(u)), np.asarray(audio.from_unit(adv))
  fit, held = slice(0, 60), slice(60, None)
  det = detection.fit_detector(detection.representation("stft"), w[fit], w_adv[fit],
                               key=jax.random.key(3), steps=200)
  score = detection.auroc(det.score(w[held]), det.score(w_adv[held]))
  assert score > 0.8
  assert detection.auroc([0.1, 0.2], [0.3, 0.4]) == 1.0


def test_db_scale_reads_a_representation_in_decibels():
  rep = detection.db_scale(lambda w: w[..., None])
  np.testing.assert_allclose(rep(jnp.array([[0.1, 1.0, 0.0]]))[0, :, 0], [-20.0, 0.0, -60.0],
                             atol=1e-3)
