"""The speech region against librosa.effects.trim; masked attacks keep out of the silence.

Data: Free Spoken Digit Dataset (Zohar Jackson et al.), CC BY-SA 4.0.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import audio
from jaxrobust.audio import region, transfer
from tests.audio.fsdd import FSDD_DIR, requires_fsdd

librosa = pytest.importorskip("librosa")


@requires_fsdd
def test_speech_region_matches_librosa_trim():
  from jaxrobust.data import audio as fsdd
  w = fsdd.load_fsdd("test", path=FSDD_DIR).waveforms[::30]  # every digit, several speakers
  for top_db, frame, hop in ((40, 256, 64), (25, 512, 128)):
    start, end = region.speech_region(w, top_db, frame, hop)
    for i, y in enumerate(w):
      _, (a, b) = librosa.effects.trim(y, top_db=top_db, frame_length=frame, hop_length=hop)
      assert (start[i], end[i]) == (a, b), (i, top_db)
  assert np.all(end - start < w.shape[1])  # zero padding is never speech


def test_speech_mask_and_bad_input():
  w = np.zeros((2, 4000), np.float32)
  w[0, 1000:2000] = 0.5 * np.sin(np.arange(1000) / 3.0)
  m = region.speech_mask(w)
  assert m[0, 1500] == 1 and m[0, :800].sum() == 0 and m[0, 2200:].sum() == 0
  assert m[1].sum() == 0  # all silence: nothing to perturb
  assert region.speech_mask(w, "full").min() == 1
  with pytest.raises(ValueError, match="valid choices"):
    region.speech_mask(w, "voiced")
  with pytest.raises(ValueError, match=r"\[batch, samples\]"):
    region.speech_region(w[0])


def test_masked_attack_stays_inside_the_mask():
  w = np.zeros((4, 600), np.float32)
  w[:, 100:300] = 0.4 * np.sin(np.arange(200) / 2.0)
  u = np.asarray(audio.to_unit(w))
  weights = jax.random.normal(jax.random.key(0), (600, 3))
  logits_fn = lambda x: (x - 0.5) @ weights
  y = np.zeros(4, np.int32)
  mask = region.speech_mask(w, frame_length=64, hop_length=16)
  amplitude = 0.02
  for name in ("noise_injected",):  # the noisiest attack; the mask path is shared by all
    adv = transfer.attack_in_batches(transfer.make_attack(name, amplitude), logits_fn, u, y,
                                     key=jax.random.key(1), mask=mask)
    delta = np.asarray(audio.from_unit(adv)) - w
    assert np.abs(delta[mask == 0]).max() == 0.0
    assert np.abs(delta).max() <= amplitude + 1e-6
    assert np.abs(delta[mask == 1]).mean() > 0.5 * amplitude  # the attack used its budget
    assert float(jnp.min(adv)) >= 0.0 and float(jnp.max(adv)) <= 1.0
  with pytest.raises(ValueError, match="mask must have"):
    transfer.attack_in_batches(transfer.make_attack("pgd", amplitude), logits_fn, u, y,
                               key=jax.random.key(1), mask=mask[:, :10])
