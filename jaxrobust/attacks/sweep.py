"""Robustness curves: one attack at K radii in one program (vmap over stacked attacks)."""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct


def stack_eps(attack, eps: Sequence[float], scale_step: bool = True):
  """The attack repeated at each radius, stacked along a leading axis of its leaves.

  With `scale_step`, each copy's step_size keeps the ratio step_size / eps of
  `attack` (a step tuned for one radius overshoots smaller ones).
  """
  if not isinstance(eps, jax.core.Tracer):  # traced radii are the caller's to check
    values = np.asarray(eps, np.float32)
    if values.ndim != 1 or values.shape[0] < 1:
      raise ValueError(f"eps must be a non-empty 1-D sequence, got shape {values.shape}.")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
      raise ValueError(f"every eps must be finite and >= 0, got {values}.")
  eps = jnp.asarray(eps, jnp.float32)
  inner = getattr(attack, "attack", attack)  # Restarts wraps the attack
  copies = []
  for e in eps:  # K static: the length of eps
    changes = {"eps": e}
    if scale_step and hasattr(inner, "step_size"):
      ratio = jnp.where(inner.eps > 0, inner.step_size / jnp.maximum(inner.eps, 1e-12), 0.0)
      changes["step_size"] = ratio * e
    new_inner = inner.replace(**changes)
    copies.append(attack.replace(attack=new_inner) if inner is not attack else new_inner)
  return jax.tree.map(lambda *leaves: jnp.stack([jnp.asarray(l) for l in leaves]), *copies)


def sweep(attack, logits_fn, x: jax.Array, y: jax.Array, *, eps: Sequence[float],
          key: jax.Array | None = None) -> jax.Array:
  """Adversarial examples at every radius: [K, batch, ...] for K = len(eps).

  One vmapped program: jit it once (`jax.jit(functools.partial(sweep, attack,
  logits_fn), static_argnames=...)` or jit the caller) to compile a whole curve.
  Every radius uses the same key, so curves are comparable point by point.
  """
  stacked = stack_eps(attack, eps)
  return jax.vmap(lambda a: a(logits_fn, x, y, key=key))(stacked)


def robust_accuracy_curve(attack, logits_fn, x: jax.Array, y: jax.Array, *,
                          eps: Sequence[float], key: jax.Array | None = None) -> jax.Array:
  """Accuracy [K] of logits_fn on attack(x) at each radius in eps."""
  x_adv = sweep(attack, logits_fn, x, y, eps=eps, key=key)
  return jax.vmap(lambda z: jnp.mean(logits_fn(z).argmax(-1) == y))(x_adv)


@struct.dataclass
class Sweep:
  """`sweep` as an attack object: attack(logits_fn, x, y, key) -> [K, batch, ...].

  Lets evaluators compute a whole robustness curve in one compiled call per
  batch (each radius keeps `attack`'s step_size / eps ratio).

  Attributes:
    attack: the attack swept over radii (its own eps is replaced).
    eps: radii [K] (a pytree leaf: the curve's radii can be traced).
  """
  attack: Any
  eps: Any

  def __call__(self, logits_fn, x: jax.Array, y: jax.Array, *,
               key: jax.Array | None = None) -> jax.Array:
    return sweep(self.attack, logits_fn, x, y, eps=self.eps, key=key)
