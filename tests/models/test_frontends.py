"""The JAX front-ends against librosa 0.11 on real FSDD clips; finite gradients on silence.

Data: Free Spoken Digit Dataset (Zohar Jackson et al.), CC BY-SA 4.0.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust.models import frontends as features
from tests.audio.fsdd import FSDD_DIR, requires_fsdd

librosa = pytest.importorskip("librosa")
SR, N_FFT, HOP, N_MELS = 8000, 256, 128, 40


@pytest.fixture(scope="module")
def clips():
  from jaxrobust.data import audio
  test = audio.load_fsdd("test", path=FSDD_DIR)
  return test.waveforms[[0, 101, 222]]  # three speakers, three digits


@requires_fsdd
def test_against_librosa(clips):
  # One compiled program (op-by-op dispatch compiles every small op separately).
  mag, mel, db, cc = map(np.asarray, jax.jit(lambda x: (
      features.stft_magnitude(x, N_FFT, HOP),
      features.mel_spectrogram(x, SR, N_FFT, HOP, N_MELS),
      features.log_mel_spectrogram(x, SR, N_FFT, HOP, N_MELS),
      features.mfcc(x, SR, 20, N_FFT, HOP, N_MELS)))(jnp.asarray(clips)))
  for i, y in enumerate(clips):
    ref_mag = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP)).T
    ref_mel = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=N_FFT, hop_length=HOP,
                                             n_mels=N_MELS).T
    ref_cc = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=20, n_fft=N_FFT, hop_length=HOP,
                                  n_mels=N_MELS).T
    assert mag[i].shape == ref_mag.shape == (63, 129)
    # float32 FFTs: errors ~1e-7 of the peak; dB and MFCC within 1e-3 dB / 1e-3 units.
    np.testing.assert_allclose(mag[i], ref_mag, atol=1e-5 * ref_mag.max())
    np.testing.assert_allclose(mel[i], ref_mel, atol=1e-5 * ref_mel.max())
    np.testing.assert_allclose(db[i], librosa.power_to_db(ref_mel.T).T, atol=2e-3)
    np.testing.assert_allclose(cc[i], ref_cc, atol=2e-3)
  np.testing.assert_allclose(features.mel_filterbank(SR, N_FFT, N_MELS),
                             librosa.filters.mel(sr=SR, n_fft=N_FFT, n_mels=N_MELS).T,
                             atol=1e-7)


def test_framing_paths_agree_and_dct_is_orthonormal():
  x = jax.random.normal(jax.random.key(0), (2, 1000))
  fast = jax.jit(lambda z: features.frames(z, 256, 128))(x)  # n_fft a multiple of hop: reshapes
  slow = jax.jit(lambda z: features.frames(z, 256, 100))(x)  # otherwise: a gather
  np.testing.assert_array_equal(fast[:, 1], jnp.pad(x, ((0, 0), (128, 128)))[:, 128:384])
  np.testing.assert_array_equal(slow[:, 2], jnp.pad(x, ((0, 0), (128, 128)))[:, 200:456])
  d = features.dct_matrix(40, 40)
  np.testing.assert_allclose(d.T @ d, np.eye(40), atol=1e-5)


def test_gradients_are_finite_on_silence_and_shapes_checked():
  x = jnp.zeros((2, 800)).at[0, 100:200].set(0.3)  # clip 1 is pure zero padding
  for f in (lambda z: features.stft_magnitude(z), lambda z: features.mfcc(z, SR)):
    g = jax.jit(jax.grad(lambda z: f(z).sum()))(x)
    assert bool(jnp.isfinite(g).all())
  with pytest.raises(ValueError, match=r"waveforms .* must be \[batch, samples\]"):
    features.stft_magnitude(jnp.zeros((800,)))
  with pytest.raises(ValueError, match="fmin < fmax"):
    features.mel_filterbank(SR, N_FFT, N_MELS, fmax=6000.0)
