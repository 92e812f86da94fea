"""The audio methods' networks: the detectors' MLP and the self-supervised waveform encoder.

  DetectorMLP   pooled statistics [batch, features] -> logit [batch] (`audio.detection`)
  WaveEncoder   waveforms [batch, samples] -> frames [batch, frames, dim] (`audio.ssl`)

The speech classifiers and their front-ends are `jaxrobust.models` (speech, frontends).
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp


class DetectorMLP(nn.Module):
  """[batch, features] -> logit [batch] (P(adversarial) after a sigmoid): one ReLU layer."""
  hidden: int = 64

  @nn.compact
  def __call__(self, x):
    return nn.Dense(1)(nn.relu(nn.Dense(self.hidden)(x)))[:, 0]


class WaveEncoder(nn.Module):
  """Waveform w [batch, samples] in [-1, 1] -> frame representations [batch, frames, dim].

  Non-overlapping frames of `frame` samples -> dense -> [conv1d k 3, stride 2,
  GELU] per features (one output frame per frame * 2 ** len(features)
  samples). `embed` pools over time and projects (contrastive objective);
  `predict` maps each frame to n_mels log-mel values (masked objective).
  """
  frame: int = 16
  features: Sequence[int] = (32, 64, 64)
  projection: int = 32
  n_mels: int = 40

  def setup(self):
    self.inp = nn.Dense(self.features[0])
    self.convs = [nn.Conv(f, (3,), strides=2, padding="SAME") for f in self.features]
    self.proj = nn.Dense(self.projection)
    self.head = nn.Dense(self.n_mels)

  def __call__(self, w):
    pad = -w.shape[1] % self.frame
    w = jnp.pad(w, ((0, 0), (0, pad)))
    x = nn.gelu(self.inp(w.reshape(w.shape[0], -1, self.frame)))
    for conv in self.convs:
      x = nn.gelu(conv(x))
    return x

  def embed(self, w):
    return self.proj(self(w).mean(1))

  def predict(self, w):
    return self.head(self(w))
