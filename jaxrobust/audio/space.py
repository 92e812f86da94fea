"""Where waveforms meet the attacks' box: the unit space u = (w + 1) / 2, and SNR.

Attacks and measures work in the input box [0, 1] (DESIGN.md); waveforms live
in [-1, 1]. A speech model therefore takes unit-space inputs u in [0, 1] and
maps them back to w = (u - 0.5) / 0.5 = 2u - 1 as its first layer, exactly as an
image model normalises pixels inside itself (`AudioInfo.mean/std` are the 0.5 /
0.5 of that map). An attack's box [0, 1] is then the waveform range [-1, 1], and
an Linf budget of `a` in waveform amplitude is eps = a / 2 in unit space
(`unit_eps`); L2 budgets scale the same way. Reports state budgets in amplitude
and the perturbation's size as SNR in dB.
"""

from __future__ import annotations

import jax
import numpy as np
import jax.numpy as jnp

from jaxrobust import _checks


def to_unit(waveforms):
  """Waveforms in [-1, 1] -> the attack/model input space [0, 1] (same shape)."""
  _checks.check_array_range("waveforms", waveforms, -1.0, 1.0)
  return (jnp.asarray(waveforms, jnp.float32) + 1.0) * 0.5


def from_unit(u):
  """Unit-space inputs [0, 1] -> waveforms [-1, 1] (same shape)."""
  _checks.check_array_range("u", u, 0.0, 1.0)
  return jnp.asarray(u, jnp.float32) * 2.0 - 1.0


def unit_eps(amplitude: float) -> float:
  """An Linf (or L2) budget in waveform amplitude -> the attack's eps in unit space."""
  _checks.check_real("amplitude (a perturbation budget)", amplitude, low=0)
  return amplitude / 2.0


def snr_db(clean: jax.Array, perturbed: jax.Array) -> jax.Array:
  """Signal-to-noise ratio [batch] in dB: 10 log10(||w||^2 / ||w' - w||^2) per clip.

  clean, perturbed: waveforms [batch, samples] in [-1, 1] (not unit-space
  inputs: their 0.5 offset would count as signal). An unperturbed clip has +inf.
  """
  if np.shape(clean) != np.shape(perturbed):
    raise ValueError(f"clean and perturbed must have one shape, got {np.shape(clean)} and "
                     f"{np.shape(perturbed)}.")
  clean = jnp.asarray(clean, jnp.float32)
  noise = jnp.asarray(perturbed, jnp.float32) - clean
  axes = tuple(range(1, clean.ndim))
  return 10.0 * (jnp.log10(jnp.sum(clean ** 2, axes)) - jnp.log10(jnp.sum(noise ** 2, axes)))
