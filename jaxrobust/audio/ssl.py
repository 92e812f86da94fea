"""A small self-supervised speech encoder, trained on unlabelled waveforms.

Pretrained self-supervised speech models (wav2vec 2.0, HuBERT) are hub
downloads, out of reach offline; this is their small stand-in: a convolutional
encoder on the raw waveform whose frame-level output [batch, frames, dim] is
the "self-supervised representation" a detector reads. Two objectives:

  "masked"       masked prediction (the default): blocks of the waveform are
                 zeroed and the encoder predicts the clean clip's log-mel
                 spectrogram at the masked frames (mean squared error), as
                 wav2vec 2.0 / HuBERT predict masked frames' targets and MAE
                 reconstructs masked patches. The target is spectral detail,
                 so the representation keeps what a perturbation changes.
  "contrastive"  SimCLR's InfoNCE (NT-Xent) between two views of a clip:
                 circular time shift, gain in [0.5, 1.5] and a zeroed time
                 span. No additive noise: invariance to noise is invariance to
                 exactly the perturbations a detector must see (an earlier
                 version with noise views left the detector at chance).

References: Baevski et al., "wav2vec 2.0", NeurIPS 2020; Hsu et al., "HuBERT",
IEEE/ACM TASLP 2021; He et al., "Masked Autoencoders Are Scalable Vision
Learners", CVPR 2022; Chen et al., "A Simple Framework for Contrastive Learning
of Visual Representations", ICML 2020.
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrobust import _checks
from jaxrobust.models import frontends as features
from jaxrobust.audio.networks import WaveEncoder
from jaxrobust.audio.training import fit_adam_cosine, module_fields

OBJECTIVES = ("masked", "contrastive")
# WaveEncoder's time stride (frame * 2 ** len(features)) equals the log-mel hop,
# so its frames align with the masked-prediction targets.
_HOP = 128


def block_mask(key: jax.Array, batch: int, samples: int, rate: float = 0.3,
               block: int = _HOP) -> jax.Array:
  """Float [batch, samples]: 0 on random blocks of `block` samples (each with prob. rate),
  else 1."""
  _checks.check_int("batch", batch, 1)
  _checks.check_int("samples", samples, 1)
  _checks.check_int("block", block, 1)
  _checks.check_number("rate", rate, low=0, high=1)
  blocks = -(-samples // block)
  keep = jax.random.bernoulli(key, 1.0 - rate, (batch, blocks)).astype(jnp.float32)
  return jnp.repeat(keep, block, axis=1)[:, :samples]


def views(key: jax.Array, w: jax.Array, max_shift: int = 800, mask_rate: float = 0.2
          ) -> jax.Array:
  """A random view [batch, samples] of waveforms w: circular shift, gain in [0.5, 1.5],
  zeroed blocks; no additive noise (see the module docstring)."""
  _checks.check_waveforms("w", w)
  _checks.check_int("max_shift", max_shift, 0)
  k_shift, k_gain, k_mask = jax.random.split(key, 3)
  shifts = jax.random.randint(k_shift, (w.shape[0],), -max_shift, max_shift + 1)
  w = jax.vmap(jnp.roll)(w, shifts)
  w = w * jax.random.uniform(k_gain, (w.shape[0], 1), minval=0.5, maxval=1.5)
  return w * block_mask(k_mask, *w.shape, rate=mask_rate)


def nt_xent(z1: jax.Array, z2: jax.Array, temperature: float = 0.2) -> jax.Array:
  """SimCLR's loss (scalar) for embeddings [batch, dim] of two views of the same clips."""
  _checks.check_number("temperature", temperature, low=0, low_open=True)
  if np.shape(z1) != np.shape(z2) or np.ndim(z1) != 2:
    raise ValueError(f"z1 and z2 must both be [batch, dim], got {np.shape(z1)} and "
                     f"{np.shape(z2)}.")
  z = jnp.concatenate([z1, z2])
  z = z / jnp.linalg.norm(z, axis=1, keepdims=True)
  n = z1.shape[0]
  sim = z @ z.T / temperature - 1e9 * jnp.eye(2 * n)
  positive = jnp.concatenate([jnp.arange(n, 2 * n), jnp.arange(n)])
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(sim, positive))


def masked_loss(encoder: WaveEncoder, params, w: jax.Array, key: jax.Array,
                sample_rate: int = 8000, rate: float = 0.3) -> jax.Array:
  """Masked prediction (scalar): MSE of the predicted per-clip standardised log-mel of w
  [batch, samples] on the frames whose block was zeroed."""
  target = features.log_mel_spectrogram(w, sample_rate, 2 * _HOP, _HOP, encoder.n_mels)
  target = (target - target.mean((1, 2), keepdims=True)) / (
      target.std((1, 2), keepdims=True) + 1e-5)
  mask = block_mask(key, *w.shape, rate=rate)
  pred = encoder.apply(params, w * mask, method=WaveEncoder.predict)
  t = min(pred.shape[1], target.shape[1])
  masked = 1.0 - mask[:, ::_HOP][:, :t]  # [batch, frames]: 1 where the frame's block was zeroed
  err = jnp.mean((pred[:, :t] - target[:, :t]) ** 2, axis=-1)
  return jnp.sum(err * masked) / jnp.maximum(jnp.sum(masked), 1.0)


def train_encoder(waveforms, *, key: jax.Array, epochs: int = 3, batch_size: int = 64,
                  learning_rate: float = 2e-3, objective: str = "masked",
                  encoder: WaveEncoder | None = None, sample_rate: int = 8000,
                  workdir: str | None = None, progress: bool = False
                  ) -> Callable[[jax.Array], jax.Array]:
  """Trains a `WaveEncoder` self-supervised on waveforms [n, samples] in [-1, 1] (no labels).

  Trains on the one epoch loop (`jaxrobust.audio.training.fit_adam_cosine`:
  checkpointed in `workdir`, resumable). Returns represent(w [batch, samples])
  -> [batch, frames, dim], the frozen encoder: a functools.partial of
  `encoder.apply` whose `.args[0]` are the trained parameters.
  """
  _checks.check_waveforms("waveforms", np.asarray(waveforms, np.float32), bounded=True)
  if objective not in OBJECTIVES:
    raise ValueError(f"Unknown self-supervised objective {objective!r}; valid choices: "
                     f"{OBJECTIVES}.")
  encoder = encoder or WaveEncoder()
  if encoder.frame * 2 ** len(encoder.features) != _HOP:
    raise ValueError(f"the encoder's stride frame * 2 ** len(features) must be {_HOP} "
                     f"(the log-mel hop), got {encoder.frame} * 2 ** {len(encoder.features)}.")
  waveforms = jnp.asarray(waveforms, jnp.float32)
  params = encoder.init(jax.random.fold_in(key, 0), waveforms[:2],
                        method=lambda m, w: (m.embed(w), m.predict(w)))

  def loss(params, batch, k):
    (w,) = batch
    if objective == "masked":
      return masked_loss(encoder, params, w, k, sample_rate)
    k1, k2 = jax.random.split(k)
    embed = lambda v: encoder.apply(params, v, method=WaveEncoder.embed)
    return nt_xent(embed(views(k1, w)), embed(views(k2, w)))

  fingerprint = {"trainer": f"self-supervised {objective}", "model": module_fields(encoder),
                 "input_shape": list(waveforms.shape[1:]), "examples": len(waveforms),
                 "key": np.asarray(jax.random.key_data(key)).tolist(), "epochs": epochs,
                 "batch_size": batch_size, "learning_rate": learning_rate}
  params, _ = fit_adam_cosine(loss, params, (waveforms,), key=jax.random.fold_in(key, 1),
                              epochs=epochs, batch_size=batch_size,
                              learning_rate=learning_rate, workdir=workdir,
                              fingerprint=fingerprint, progress=progress)
  return functools.partial(encoder.apply, params)
