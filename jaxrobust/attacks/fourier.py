"""Single Fourier attack: the best single Fourier basis direction per example.

References:
  Tsuzuku & Sato, "On the Structural Sensitivity of Deep Convolutional Networks
  to the Directions of Fourier Basis Functions", CVPR 2019 (the attack);
  Kanai et al., "Absum: Simple Regularization Method for Reducing Structural
  Sensitivity of Convolutional Neural Networks", AAAI 2020 (its use as a
  robustness test).
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrobust import _checks
from jaxrobust.attacks import _core
from jaxrobust.attacks._base import Attack, static
from jaxrobust.losses import cw_margin


def all_frequencies(height: int, width: int) -> np.ndarray:
  """Every frequency (u, v), u < height, v < width: [height * width, 2] int32."""
  u, v = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
  return np.stack([u.ravel(), v.ravel()], axis=1).astype(np.int32)


def fourier_basis(height: int, width: int, frequencies=None) -> jax.Array:
  """Real Fourier basis images [k, height, width], unit L2 norm.

  For frequency (u, v) with phase theta = 2 pi (u h / height + v w / width),
  the image is Re((1 + i) e^{i theta}) / sqrt(height * width)
  = (cos theta - sin theta) / sqrt(height * width): the paper's real
  combination (1 + i) F_{u,v} + (1 - i) F_{-u,-v} of a Fourier basis function
  and its conjugate. Over all height * width frequencies these images are the
  discrete Hartley basis (with (u, v) -> (-u, -v)): real and orthonormal.

  Args:
    frequencies: [k, 2] integer (u, v) pairs (traced or concrete); None: all.
  """
  _checks.check_int_at_least("height", height, 1)
  _checks.check_int_at_least("width", width, 1)
  if frequencies is None:
    frequencies = all_frequencies(height, width)
  if np.ndim(frequencies) != 2 or np.shape(frequencies)[1] != 2:
    raise ValueError(f"frequencies must be [k, 2] integer pairs (u, v), got shape "
                     f"{np.shape(frequencies)}.")
  frequencies = jnp.asarray(frequencies, jnp.int32)
  h = jnp.arange(height)
  w = jnp.arange(width)
  # Integer phases modulo the period keep theta exact before the float divide.
  phase_h = (frequencies[:, 0, None] * h[None, :]) % height / height   # [k, height]
  phase_w = (frequencies[:, 1, None] * w[None, :]) % width / width     # [k, width]
  theta = 2 * jnp.pi * (phase_h[:, :, None] + phase_w[:, None, :])
  return (jnp.cos(theta) - jnp.sin(theta)) / np.sqrt(height * width)


@struct.dataclass
class SingleFourier(Attack):
  """x_adv = clip(x + eps * s * B_{u,v} / ||s * B_{u,v}||), the best over frequencies
  (u, v) and signs s, per example.

  Every candidate perturbation is one real Fourier basis image B_{u,v}
  (`fourier_basis`), applied to every channel, with a sign s (one for all
  channels, or one per channel with `per_channel`), scaled to norm eps in
  `norm` (the whole [h, w, c] perturbation); then clipped to [0, 1]. Per
  example the attack keeps the candidate of highest margin loss
  max_{j != y} z_j - z_y (targeted: z_t - max_{j != t} z_j), so a candidate
  that fools the model wins whenever one exists, and keeps x itself if no
  candidate raises the loss above the clean one. Only logits are used.

  The paper searches a universal perturbation (one (u, v) for a whole data
  set); the per-example search here is the stronger evaluation used as a
  robustness test. The search is a `lax.scan` over chunks of candidates, each
  chunk one batched forward pass.

  Attributes:
    eps: radius of the ball.
    norm: "l2" (unit-L2 basis images, as the paper normalises them) or "linf"
      (the same direction scaled to max |delta| = eps) (static).
    frequencies: ((u, v), ...) to search, or None for all height * width
      (static).
    per_channel: search every sign pattern over the channels (2^c per
      frequency) instead of one sign for all channels (static).
    chunk_size: candidates evaluated per forward pass (static); memory grows
      as chunk_size * batch images.
    targeted: if True, `y` are target labels (static).
  """
  NORMS: ClassVar[tuple] = ("linf", "l2")

  eps: float = 0.3
  norm: str = static("l2")
  frequencies: tuple | None = static(None)
  per_channel: bool = static(False)
  chunk_size: int = static(32)
  targeted: bool = static(False)

  NONNEGATIVE = ("eps",)
  MINIMUMS = {"chunk_size": 1}
  IMAGES = True

  def check_static(self):
    if self.frequencies is not None:
      f = np.asarray(self.frequencies)
      if f.ndim != 2 or f.shape[1] != 2 or len(f) == 0 or not np.issubdtype(f.dtype, np.integer):
        raise ValueError("frequencies must be a non-empty tuple of integer (u, v) pairs, "
                         f"got {self.frequencies!r}.")

  def _frequencies(self, height, width) -> np.ndarray:
    if self.frequencies is None:
      return all_frequencies(height, width)
    f = np.asarray(self.frequencies, np.int32)
    if f.min() < 0 or f[:, 0].max() >= height or f[:, 1].max() >= width:
      raise ValueError(f"frequencies must satisfy 0 <= u < {height}, 0 <= v < {width}; "
                       f"got {self.frequencies!r}.")
    return f

  def _signs(self, channels) -> np.ndarray:
    """Sign patterns [p, channels]."""
    if not self.per_channel:
      return np.array([[1.0] * channels, [-1.0] * channels], np.float32)
    bits = (np.arange(2 ** channels)[:, None] >> np.arange(channels)[None, :]) & 1
    return (1.0 - 2.0 * bits).astype(np.float32)

  def perturbation(self, frequencies, signs, shape, dtype=jnp.float32) -> jax.Array:
    """eps * s * B_{u,v} scaled to norm eps: [k, h, w, c] for [k, 2] frequencies, [k, c] signs."""
    height, width, _ = shape
    basis = fourier_basis(height, width, frequencies).astype(dtype)
    basis = basis[..., None] * signs[:, None, None, :]
    scale = _core.norm(basis, self.norm)
    return jnp.asarray(self.eps, dtype) * basis / _core._expand(jnp.maximum(scale, 1e-12), basis)

  def run(self, logits_fn, x, y, key):
    """Deterministic: the search is exhaustive."""
    batch, height, width, channels = x.shape
    freqs = self._frequencies(height, width)
    signs = self._signs(channels)
    n_freq, n_sign = len(freqs), len(signs)
    n = n_freq * n_sign
    n_chunks = -(-n // self.chunk_size)
    # Candidate c is frequency c // n_sign with sign pattern c % n_sign; the
    # padding at the end of the last chunk is never chosen.
    index = np.arange(n_chunks * self.chunk_size).reshape(n_chunks, self.chunk_size)
    freqs_j, signs_j = jnp.asarray(freqs), jnp.asarray(signs)

    def loss(x_adv, labels):
      m = cw_margin(logits_fn(x_adv), labels)
      return -m if self.targeted else m

    y_chunk = jnp.tile(y, self.chunk_size)  # candidate-major, like x_c below

    def chunk(carry, idx):
      best_loss, best_idx = carry
      delta = self.perturbation(freqs_j[jnp.minimum(idx // n_sign, n_freq - 1)],
                                signs_j[idx % n_sign], x.shape[1:], x.dtype)
      x_c = _core.clip_to_box(x[None] + delta[:, None])            # [chunk, batch, ...]
      losses = loss(x_c.reshape((-1,) + x.shape[1:]), y_chunk).reshape(self.chunk_size, batch)
      losses = jnp.where((idx < n)[:, None], losses, -jnp.inf)
      arg = jnp.argmax(losses, axis=0)                              # first best in the chunk
      top = jnp.take_along_axis(losses, arg[None], axis=0)[0]
      better = top > best_loss                                      # earlier chunks win ties
      return (jnp.where(better, top, best_loss),
              jnp.where(better, jnp.asarray(idx)[arg], best_idx)), None

    init = (loss(x, y), jnp.full((batch,), -1, jnp.int32))
    (_, best_idx), _ = jax.lax.scan(chunk, init, jnp.asarray(index, jnp.int32))
    safe = jnp.maximum(best_idx, 0)
    delta = self.perturbation(freqs_j[safe // n_sign], signs_j[safe % n_sign], x.shape[1:],
                              x.dtype)
    delta = jnp.where(_core._expand(best_idx >= 0, x), delta, 0.0)
    return _core.clip_to_box(x + delta)
