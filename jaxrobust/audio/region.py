"""The speech region of a clip: where a perturbation may go when silence is off limits.

FSDD clips are zero-padded to a fixed length, and a perturbation in the exact
zeros of the tail is trivially visible (to a detector and to a listener). The
speech region of a clip is the span from its first to its last non-silent
frame, as `librosa.effects.trim` defines it: frames (`frame_length` samples
every `hop_length`, centred, zero-padded) whose RMS is within `top_db` dB of
the clip's loudest frame are non-silent. `speech_mask` turns the spans into a
0/1 mask [batch, samples] that `jaxrobust.audio.transfer.attack_in_batches`
applies to the perturbation (the attack optimises only inside it).

References: librosa.effects.trim (McFee et al., librosa 0.11), whose
definition is followed and tested against.
"""

from __future__ import annotations

import numpy as np

from jaxrobust import _checks

REGIONS = ("full", "speech")


def speech_region(waveforms, top_db: float = 40.0, frame_length: int = 256,
                  hop_length: int = 64) -> tuple[np.ndarray, np.ndarray]:
  """(start, end) int [batch]: the non-silent span [start, end) of each waveform [batch, samples].

  A clip with no sample above zero keeps an empty span (start = end = 0).
  """
  w = np.asarray(waveforms, np.float64)
  if w.ndim != 2:
    raise ValueError(f"speech_region takes waveforms [batch, samples], got shape {w.shape}.")
  _checks.check_array_range("waveforms", w)  # a NaN frame would read as silence
  if top_db <= 0 or frame_length < 1 or hop_length < 1:
    raise ValueError(f"need top_db > 0, frame_length >= 1 and hop_length >= 1, got "
                     f"{top_db}, {frame_length}, {hop_length}.")
  n = w.shape[1]
  padded = np.pad(w, ((0, 0), (frame_length // 2, frame_length // 2)))
  count = 1 + (padded.shape[1] - frame_length) // hop_length
  idx = np.arange(frame_length)[None, :] + hop_length * np.arange(count)[:, None]
  rms = np.sqrt(np.mean(padded[:, idx] ** 2, axis=-1))  # [batch, frames]
  amin = 1e-5  # librosa.amplitude_to_db's floor
  db = 20 * np.log10(np.maximum(amin, rms)) - 20 * np.log10(
      np.maximum(amin, rms.max(1, keepdims=True)))
  loud = db > -top_db
  any_loud = loud.any(1) & (rms.max(1) > 0)
  first = np.argmax(loud, axis=1)
  last = count - 1 - np.argmax(loud[:, ::-1], axis=1)
  start = np.where(any_loud, first * hop_length, 0)
  end = np.where(any_loud, np.minimum(n, (last + 1) * hop_length), 0)
  return start.astype(np.int64), end.astype(np.int64)


def speech_mask(waveforms, region: str = "speech", **kwargs) -> np.ndarray:
  """Float32 [batch, samples]: 1 inside each clip's speech region ("speech") or everywhere
  ("full"), 0 elsewhere.

  kwargs go to `speech_region` (top_db, frame_length, hop_length).
  """
  if region not in REGIONS:
    raise ValueError(f"Unknown region {region!r}; valid choices: {REGIONS}.")
  w = np.asarray(waveforms)
  if region == "full":
    return np.ones(w.shape, np.float32)
  start, end = speech_region(w, **kwargs)
  t = np.arange(w.shape[1])[None, :]
  return ((t >= start[:, None]) & (t < end[:, None])).astype(np.float32)
