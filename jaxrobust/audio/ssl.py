"""A small self-supervised speech encoder, trained contrastively on unlabelled waveforms.

Pretrained self-supervised speech models (wav2vec 2.0, HuBERT) are hub
downloads, out of reach offline; this is their small stand-in: a convolutional
encoder on the raw waveform, trained by SimCLR's InfoNCE loss (NT-Xent) to map
two random views of the same clip (time shift, gain, additive noise) close
together and views of other clips apart. Its frame-level output [batch, frames,
dim] is the "self-supervised representation" a detector reads.

References: Chen et al., "A Simple Framework for Contrastive Learning of Visual
Representations", ICML 2020; Baevski et al., "wav2vec 2.0", NeurIPS 2020 (the
family this stands in for).
"""

from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax


class WaveEncoder(nn.Module):
  """Waveform w [batch, samples] in [-1, 1] -> frame representations [batch, frames, dim].

  Non-overlapping frames of `frame` samples -> dense -> [conv1d k 3, stride 2,
  GELU] per features; `embed` pools them (mean over time) and projects for the
  contrastive loss.
  """
  frame: int = 16
  features: Sequence[int] = (32, 64, 64)
  projection: int = 32

  def setup(self):
    self.inp = nn.Dense(self.features[0])
    self.convs = [nn.Conv(f, (3,), strides=2, padding="SAME") for f in self.features]
    self.proj = nn.Dense(self.projection)

  def __call__(self, w):
    pad = -w.shape[1] % self.frame
    w = jnp.pad(w, ((0, 0), (0, pad)))
    x = nn.gelu(self.inp(w.reshape(w.shape[0], -1, self.frame)))
    for conv in self.convs:
      x = nn.gelu(conv(x))
    return x

  def embed(self, w):
    return self.proj(self(w).mean(1))


def views(key: jax.Array, w: jax.Array, max_shift: int = 800, noise_std: float = 0.01
          ) -> jax.Array:
  """A random view [batch, samples] of waveforms w: circular shift, gain in [0.5, 1.5], noise."""
  k_shift, k_gain, k_noise = jax.random.split(key, 3)
  shifts = jax.random.randint(k_shift, (w.shape[0],), -max_shift, max_shift + 1)
  w = jax.vmap(jnp.roll)(w, shifts)
  w = w * jax.random.uniform(k_gain, (w.shape[0], 1), minval=0.5, maxval=1.5)
  return w + noise_std * jax.random.normal(k_noise, w.shape)


def nt_xent(z1: jax.Array, z2: jax.Array, temperature: float = 0.2) -> jax.Array:
  """SimCLR's loss (scalar) for embeddings [batch, dim] of two views of the same clips."""
  z = jnp.concatenate([z1, z2]) / jnp.linalg.norm(jnp.concatenate([z1, z2]), axis=1,
                                                  keepdims=True)
  n = z1.shape[0]
  sim = z @ z.T / temperature - 1e9 * jnp.eye(2 * n)
  positive = jnp.concatenate([jnp.arange(n, 2 * n), jnp.arange(n)])
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(sim, positive))


def train_encoder(waveforms, *, key: jax.Array, epochs: int = 3, batch_size: int = 64,
                  learning_rate: float = 2e-3, encoder: WaveEncoder | None = None,
                  progress: Callable[[int, float], None] | None = None
                  ) -> Callable[[jax.Array], jax.Array]:
  """Trains a `WaveEncoder` contrastively on waveforms [n, samples] (no labels).

  Returns represent(w [batch, samples]) -> [batch, frames, dim], the frozen encoder.
  """
  from jaxrobust.train import make_schedule  # see jaxrobust.audio.training
  encoder = encoder or WaveEncoder()
  waveforms = jnp.asarray(waveforms, jnp.float32)
  steps = len(waveforms) // batch_size
  if steps < 1:
    raise ValueError(f"batch_size={batch_size} exceeds the {len(waveforms)} waveforms.")
  tx = optax.adam(make_schedule("cosine", learning_rate, steps * epochs))
  params = encoder.init(jax.random.fold_in(key, 0), waveforms[:2],
                        method=WaveEncoder.embed)
  opt_state = tx.init(params)

  def loss_fn(params, w, k):
    k1, k2 = jax.random.split(k)
    embed = lambda v: encoder.apply(params, v, method=WaveEncoder.embed)
    return nt_xent(embed(views(k1, w)), embed(views(k2, w)))

  @jax.jit
  def epoch(params, opt_state, k):
    order = jax.random.permutation(k, len(waveforms))[:steps * batch_size]

    def step(carry, inp):
      params, opt_state = carry
      idx, i = inp
      loss, grads = jax.value_and_grad(loss_fn)(params, waveforms[idx], jax.random.fold_in(k, i))
      updates, opt_state = tx.update(grads, opt_state, params)
      return (optax.apply_updates(params, updates), opt_state), loss

    (params, opt_state), losses = jax.lax.scan(
        step, (params, opt_state), (order.reshape(steps, batch_size), jnp.arange(steps)))
    return params, opt_state, losses.mean()

  for e in range(1, epochs + 1):
    params, opt_state, loss = epoch(params, opt_state, jax.random.fold_in(key, e))
    if not np.isfinite(float(loss)):
      raise FloatingPointError(f"contrastive training diverged in epoch {e}.")
    if progress is not None:
      progress(e, float(loss))
  return lambda w: encoder.apply(params, w)
