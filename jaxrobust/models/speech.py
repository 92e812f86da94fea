"""Speech classifiers with their front-end inside: attacks see waveforms.

Every model takes unit-space waveforms u [batch, samples] in [0, 1] (the
attacks' box; `jaxrobust.audio.space`) and maps them to w = (u - mean) / std =
2u - 1 in [-1, 1] first, as image models normalise pixels inside themselves.
Then a differentiable front-end (`jaxrobust.models.frontends`) and a small
network of strided convolutions (cheap input gradients on CPU):

  speech_wave_cnn   1D CNN on the raw waveform
  speech_logmel_cnn 2D CNN on the log-mel spectrogram (per-clip standardised)
  speech_mfcc_cnn   1D CNN over time on MFCCs (per-clip mean/variance normalised, CMVN)
  speech_mfcc_gru   a GRU over MFCC frames (the small recurrent model)

With FSDD's defaults (8 kHz, 8000 samples) each trains in minutes on a CPU
(`jaxrobust.audio.train_classifier`, on the one epoch loop); none uses BatchNorm.

References: Kim, Park & Lee, "Generating Transferable Adversarial Examples for
Speech Classification", Pattern Recognition 137 (2023) (model families: raw
waveform, spectrogram and MFCC classifiers); Davis & Mermelstein, 1980 (MFCC).
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from jaxrobust.models import frontends as features
from jaxrobust.models.heads import apply_head
from jaxrobust.models.layers import Classifier


def waveform_input(u, mean: Sequence[float], std: Sequence[float]):
  """Checks u is float [batch, samples] and returns the waveform (u - mean) / std."""
  if not jnp.issubdtype(u.dtype, jnp.floating):
    raise TypeError(f"Speech model inputs must be float waveforms in unit space [0, 1], got "
                    f"dtype {u.dtype}; map waveforms with jaxrobust.audio.to_unit.")
  if u.ndim != 2:
    raise ValueError(f"Speech model inputs must be waveforms [batch, samples], got shape "
                     f"{tuple(u.shape)}.")
  if len(mean) != 1 or len(std) != 1:
    raise ValueError(f"Speech models have one channel: mean and std of length 1, got "
                     f"{tuple(mean)!r}, {tuple(std)!r}.")
  return (u - mean[0]) / std[0]


def _standardize(x, axes):
  """Zero mean, unit variance over `axes` per example (no learned parameters)."""
  mu = jnp.mean(x, axis=axes, keepdims=True)
  return (x - mu) / jnp.sqrt(jnp.var(x, axis=axes, keepdims=True) + 1e-5)


class _Speech(Classifier):
  """Fields shared by the speech models (front-end settings are static)."""
  sample_rate: int = 8000
  n_fft: int = 256
  hop_length: int = 128
  n_mels: int = 40
  n_mfcc: int = 20
  hidden: int = 64
  head: str = "identity"

  def waveform(self, u):
    return waveform_input(u, self.mean, self.std)

  def log_mel(self, u):
    return features.log_mel_spectrogram(self.waveform(u), self.sample_rate, self.n_fft,
                                        self.hop_length, self.n_mels)

  def mfcc(self, u):
    return features.mfcc(self.waveform(u), self.sample_rate, self.n_mfcc, self.n_fft,
                         self.hop_length, self.n_mels)

  def classify(self, h):
    """h [batch, hidden features] -> logits [batch, num_classes] through the head."""
    h = nn.relu(nn.Dense(self.hidden)(h))
    return apply_head(self.head, nn.Dense(self.num_classes)(h))


class WaveCNN(_Speech):
  """Waveform (per-clip standardised) cut into non-overlapping frames of `frame` samples ->
  dense (a learned filterbank) -> [conv1d k 3, stride 2, ReLU] per features -> pool -> dense -> logits.

  Input u [batch, samples] in [0, 1] -> logits [batch, num_classes]. The first
  layer is a convolution with kernel = stride = frame written as a reshape and a
  matmul (conv weight gradients are slow on CPU). With the defaults on 8000
  samples: 500 frames -> 250 -> 125 -> 63 steps.
  """
  frame: int = 16
  filters: int = 32
  features: Sequence[int] = (32, 64, 64)

  @nn.compact
  def __call__(self, u, train: bool = False):
    # Per-clip standardised: recording levels vary by speaker, and unit-variance
    # input lets the learned filterbank train from the first steps.
    w = _standardize(self.waveform(u), (1,))
    pad = -w.shape[1] % self.frame
    w = jnp.pad(w, ((0, 0), (0, pad)))
    x = nn.relu(nn.Dense(self.filters)(w.reshape(w.shape[0], -1, self.frame)))
    for width in self.features:
      x = nn.relu(nn.Conv(width, (3,), strides=2, padding="SAME")(x))
    return self.classify(jnp.concatenate([x.mean(1), x.max(1)], -1))


class LogMelCNN(_Speech):
  """log-mel [frames, n_mels] -> [conv 3x3 stride 2, ReLU] * len(features) -> pool -> dense.

  Input u [batch, samples] in [0, 1] -> logits [batch, num_classes].
  """
  features: Sequence[int] = (16, 32, 64)

  @nn.compact
  def __call__(self, u, train: bool = False):
    x = _standardize(self.log_mel(u), (1, 2))[..., None]
    for width in self.features:
      x = nn.relu(nn.Conv(width, (3, 3), strides=2, padding="SAME")(x))
    return self.classify(jnp.concatenate([x.mean((1, 2)), x.max((1, 2))], -1))


class MFCCCNN(_Speech):
  """MFCC [frames, n_mfcc] (CMVN) -> [conv1d over time, ReLU] * len(features) -> pool -> dense.

  Input u [batch, samples] in [0, 1] -> logits [batch, num_classes].
  """
  features: Sequence[int] = (64, 64)
  strides: Sequence[int] = (1, 2)

  @nn.compact
  def __call__(self, u, train: bool = False):
    x = _standardize(self.mfcc(u), (1,))
    for width, stride in zip(self.features, self.strides):
      x = nn.relu(nn.Conv(width, (3,), strides=stride, padding="SAME")(x))
    return self.classify(jnp.concatenate([x.mean(1), x.max(1)], -1))


class MFCCGRU(_Speech):
  """MFCC frames (CMVN) -> GRU(hidden) -> last state -> dense -> logits.

  Input u [batch, samples] in [0, 1] -> logits [batch, num_classes].
  """

  @nn.compact
  def __call__(self, u, train: bool = False):
    x = _standardize(self.mfcc(u), (1,))
    h = nn.RNN(nn.GRUCell(self.hidden))(x)
    return self.classify(jnp.concatenate([h[:, -1], h.mean(1)], -1))
