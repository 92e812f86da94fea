"""Differentiable audio front-ends in JAX: STFT magnitude, mel, log-mel (dB), MFCC.

Each takes waveforms [batch, samples] (float, [-1, 1]) and returns features
[batch, frames, bins] (time first, the transpose of librosa's [bins, frames]),
matching librosa 0.11 with the same arguments (`tests/models/test_frontends.py`
checks it on FSDD clips): a centred STFT with zero padding (librosa's
center=True, pad_mode="constant"), the periodic Hann window, Slaney mel filters
with Slaney area normalisation (librosa's htk=False, norm="slaney"), dB as
10 log10(max(amin, S) / ref) floored at max - top_db per example, and MFCC as
the orthonormal DCT-II of the log-mel spectrogram.

Gradients are finite everywhere, also on exact silence (FSDD clips are padded
with zeros): the magnitude is a square root with a zero gradient at 0 instead
of |z|'s NaN.

References: McFee et al., "librosa: Audio and Music Signal Analysis in Python",
SciPy 2015 (the conventions matched); Slaney, "Auditory Toolbox", 1998 (mel).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import _checks

_WAVES = ("batch", "samples")


def _check(x: jax.Array, n_fft: int, hop_length: int) -> None:
  _checks.check_waveforms("waveforms (one clip: x[None])", x)
  _checks.check_int_at_least("n_fft", n_fft, 2)
  _checks.check_int_at_least("hop_length", hop_length, 1)


@functools.lru_cache(maxsize=None)
def hann_window(n: int) -> np.ndarray:
  """The periodic Hann window float32 [n] (scipy's get_window("hann", n), librosa's)."""
  _checks.check_int("n", n, 1)
  return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)


def frames(x: jax.Array, n_fft: int, hop_length: int, center: bool = True) -> jax.Array:
  """Overlapping frames [batch, 1 + (samples - n_fft) // hop, n_fft] of waveforms
  [batch, samples], zero-padded by n_fft // 2 per side first if `center`."""
  _check(x, n_fft, hop_length)
  if center:
    x = jnp.pad(x, ((0, 0), (n_fft // 2, n_fft // 2)))
  n_frames = 1 + (x.shape[1] - n_fft) // hop_length
  if n_frames < 1:
    raise ValueError(f"waveforms of {x.shape[1]} samples are shorter than n_fft={n_fft}.")
  if n_fft % hop_length == 0:
    # Reshapes and slices only: a gather's gradient (a scatter-add) is slow on CPU.
    r = n_fft // hop_length
    need = (n_frames + r - 1) * hop_length
    x = jnp.pad(x, ((0, 0), (0, max(0, need - x.shape[1]))))[:, :need]
    blocks = x.reshape(x.shape[0], n_frames + r - 1, hop_length)
    return jnp.concatenate([blocks[:, i:i + n_frames] for i in range(r)], axis=-1)
  index = np.arange(n_frames)[:, None] * hop_length + np.arange(n_fft)[None, :]
  return x[:, index]


def _safe_sqrt(power: jax.Array) -> jax.Array:
  """sqrt with gradient 0 (not inf/NaN) where power == 0."""
  positive = power > 0
  return jnp.where(positive, jnp.sqrt(jnp.where(positive, power, 1.0)), 0.0)


def power_spectrogram(x: jax.Array, n_fft: int = 256, hop_length: int = 128,
                      center: bool = True) -> jax.Array:
  """|STFT|^2 [batch, frames, n_fft // 2 + 1] of waveforms [batch, samples] (Hann window)."""
  spec = jnp.fft.rfft(frames(x, n_fft, hop_length, center) * hann_window(n_fft), axis=-1)
  return jnp.real(spec) ** 2 + jnp.imag(spec) ** 2


def stft_magnitude(x: jax.Array, n_fft: int = 256, hop_length: int = 128,
                   center: bool = True) -> jax.Array:
  """|STFT| [batch, frames, n_fft // 2 + 1]: librosa's np.abs(stft(x)).T per clip."""
  return _safe_sqrt(power_spectrogram(x, n_fft, hop_length, center))


def hz_to_mel(f):
  """Slaney's mel scale: linear below 1 kHz, logarithmic above (librosa's htk=False)."""
  f = np.asarray(f, np.float64)
  f_sp, min_log_hz = 200.0 / 3, 1000.0
  min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
  return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, min_log_hz) / min_log_hz)
                  / logstep, f / f_sp)


def mel_to_hz(m):
  """The inverse of `hz_to_mel`."""
  m = np.asarray(m, np.float64)
  f_sp, min_log_hz = 200.0 / 3, 1000.0
  min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
  return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


@functools.lru_cache(maxsize=None)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:
  """Triangular Slaney-normalised mel filters float32 [n_fft // 2 + 1, n_mels]
  (librosa.filters.mel(...).T with htk=False, norm="slaney")."""
  _checks.check_int("sample_rate", sample_rate, 1)
  _checks.check_int("n_fft", n_fft, 2)
  _checks.check_int("n_mels", n_mels, 1)
  fmax = sample_rate / 2 if fmax is None else fmax
  if not 0 <= fmin < fmax <= sample_rate / 2:
    raise ValueError(f"need 0 <= fmin < fmax <= sample_rate / 2, got fmin={fmin}, "
                     f"fmax={fmax}, sample_rate={sample_rate}.")
  fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
  mel_freqs = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
  fdiff = np.diff(mel_freqs)
  ramps = mel_freqs[:, None] - fft_freqs[None, :]
  lower = -ramps[:-2] / fdiff[:-1, None]
  upper = ramps[2:] / fdiff[1:, None]
  weights = np.maximum(0, np.minimum(lower, upper))
  weights *= (2.0 / (mel_freqs[2:n_mels + 2] - mel_freqs[:n_mels]))[:, None]
  empty = np.flatnonzero(weights.max(axis=1) <= 0)
  if empty.size:
    # Filters narrower than the FFT bin spacing catch no bin: features always 0.
    raise ValueError(f"n_mels={n_mels} is too many for n_fft={n_fft} at sample_rate="
                     f"{sample_rate} in [{fmin}, {fmax}] Hz: {empty.size} filters "
                     f"(e.g. {empty[0]}) cover no FFT bin; lower n_mels or raise n_fft.")
  return weights.T.astype(np.float32)


def mel_spectrogram(x: jax.Array, sample_rate: int, n_fft: int = 256, hop_length: int = 128,
                    n_mels: int = 40, fmin: float = 0.0, fmax: float | None = None
                    ) -> jax.Array:
  """Mel power spectrogram [batch, frames, n_mels] (librosa.feature.melspectrogram, power=2)."""
  return power_spectrogram(x, n_fft, hop_length) @ mel_filterbank(
      sample_rate, n_fft, n_mels, fmin, fmax)


def power_to_db(s: jax.Array, amin: float = 1e-10, top_db: float | None = 80.0) -> jax.Array:
  """10 log10(max(amin, s)) (ref 1), floored at each example's max - top_db (None: no floor).

  s: [batch, ...] powers; the max is per example (librosa's is per call, i.e. per clip).
  """
  _checks.check_number("amin", amin, low=0, low_open=True)
  if top_db is not None:
    _checks.check_number("top_db", top_db, low=0)
  db = 10.0 * jnp.log10(jnp.maximum(s, amin))
  if top_db is None:
    return db
  peak = jnp.max(db.reshape(db.shape[0], -1), axis=1).reshape((-1,) + (1,) * (db.ndim - 1))
  return jnp.maximum(db, peak - top_db)


def log_mel_spectrogram(x: jax.Array, sample_rate: int, n_fft: int = 256,
                        hop_length: int = 128, n_mels: int = 40, fmin: float = 0.0,
                        fmax: float | None = None, top_db: float | None = 80.0) -> jax.Array:
  """Log-mel spectrogram in dB [batch, frames, n_mels]
  (librosa.power_to_db(librosa.feature.melspectrogram(...), top_db=top_db))."""
  return power_to_db(mel_spectrogram(x, sample_rate, n_fft, hop_length, n_mels, fmin, fmax),
                     top_db=top_db)


@functools.lru_cache(maxsize=None)
def dct_matrix(n_in: int, n_out: int) -> np.ndarray:
  """Orthonormal DCT-II as float32 [n_in, n_out]: v @ D = scipy.fft.dct(v, norm="ortho")[:n_out]."""
  _checks.check_int("n_in", n_in, 1)
  _checks.check_int("n_out", n_out, 1, n_in)
  k = np.arange(n_out)[None, :]
  n = np.arange(n_in)[:, None]
  d = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
  d[:, 0] /= np.sqrt(2.0)
  return d.astype(np.float32)


def mfcc(x: jax.Array, sample_rate: int, n_mfcc: int = 20, n_fft: int = 256,
         hop_length: int = 128, n_mels: int = 40, fmin: float = 0.0,
         fmax: float | None = None, top_db: float | None = 80.0) -> jax.Array:
  """MFCCs [batch, frames, n_mfcc] (librosa.feature.mfcc with dct_type=2, norm="ortho")."""
  if not 1 <= n_mfcc <= n_mels:
    raise ValueError(f"n_mfcc must be in [1, n_mels={n_mels}], got {n_mfcc}.")
  return log_mel_spectrogram(x, sample_rate, n_fft, hop_length, n_mels, fmin, fmax,
                             top_db) @ dct_matrix(n_mels, n_mfcc)
