"""Robustness curves: one attack at K radii in one program.

Two ways to run the K stacked copies of an attack (`STRATEGIES`):
  "vmap": one batched program, every step at K x the batch.
  "sequential": the K copies one after another in the same program, each at
    the caller's batch, as straight-line code (a `lax.map` would put the model
    in a loop body, which XLA:CPU runs slower: `attacks._core.step_loop`).
Why two: on XLA:CPU a forward+backward pass at 8 x 256 images costs ~1.5x
eight passes at 256 (the activations outgrow the caches), so the vmapped
8-radius PGD-10 curve ran 1.06-1.4x slower than 8 calls of one compiled attack
(bench/attacks.py, small CNN, batch 256); "sequential" ran 1.07-1.37x faster
than the 8 calls but compiles K copies (5.5x vmap's compile there, and XLA's
compile time grows faster than the program; the persistent compilation cache
of the binaries pays that once). On a GPU the vmapped program fills the
device: the 8-radius curve took 0.36x the time of 8 calls on an H200.
"auto" (the default) therefore takes "sequential" on CPU and "vmap" on
accelerators; $JAXROBUST_SWEEP_STRATEGY overrides it (the test suite sets
"vmap" to bound its compile time). Both give the single calls' results.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrobust.attacks import _core

STRATEGIES = ("auto", "vmap", "sequential")


def resolve_strategy(strategy: str) -> str:
  """"vmap" or "sequential": "auto" by $JAXROBUST_SWEEP_STRATEGY, else by backend."""
  _core.check_choice("strategy", strategy, STRATEGIES)
  if strategy != "auto":
    return strategy
  chosen = os.environ.get("JAXROBUST_SWEEP_STRATEGY") or (
      "sequential" if jax.default_backend() == "cpu" else "vmap")
  _core.check_choice("$JAXROBUST_SWEEP_STRATEGY", chosen, STRATEGIES[1:])
  return chosen


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


def _over_radii(fn, stacked, strategy: str) -> jax.Array:
  """fn(one attack) for each of the K stacked copies, stacked: [K, ...]."""
  if resolve_strategy(strategy) == "vmap":
    return jax.vmap(fn)(stacked)
  k = jax.tree.leaves(stacked)[0].shape[0]
  return jnp.stack([fn(jax.tree.map(lambda leaf: leaf[i], stacked)) for i in range(k)])


def sweep(attack, logits_fn, x: jax.Array, y: jax.Array, *, eps: Sequence[float],
          key: jax.Array | None = None, strategy: str = "auto") -> jax.Array:
  """Adversarial examples at every radius: [K, batch, ...] for K = len(eps).

  One program: jit the caller (eps a Python sequence, or traced) to compile a
  whole curve. Every radius uses the same key, so curves are comparable point
  by point. strategy: "auto", "vmap" or "sequential" (see the module).
  """
  stacked = stack_eps(attack, eps)
  return _over_radii(lambda a: a(logits_fn, x, y, key=key), stacked, strategy)


def robust_accuracy_curve(attack, logits_fn, x: jax.Array, y: jax.Array, *,
                          eps: Sequence[float], key: jax.Array | None = None,
                          strategy: str = "auto") -> jax.Array:
  """Accuracy [K] of logits_fn on attack(x) at each radius in eps."""
  def accuracy(a):
    return jnp.mean(logits_fn(a(logits_fn, x, y, key=key)).argmax(-1) == y)
  return _over_radii(accuracy, stack_eps(attack, eps), strategy)


@struct.dataclass
class Sweep:
  """`sweep` as an attack object: attack(logits_fn, x, y, key) -> [K, batch, ...].

  Lets evaluators compute a whole robustness curve in one compiled call per
  batch (each radius keeps `attack`'s step_size / eps ratio).

  Attributes:
    attack: the attack swept over radii (its own eps is replaced).
    eps: radii [K] (a pytree leaf: the curve's radii can be traced).
    strategy: "auto", "vmap" or "sequential" (static; see the module).
  """
  attack: Any
  eps: Any
  strategy: str = struct.field(pytree_node=False, default="auto")

  def __post_init__(self):
    _core.check_choice("strategy", self.strategy, STRATEGIES)

  def __call__(self, logits_fn, x: jax.Array, y: jax.Array, *,
               key: jax.Array | None = None) -> jax.Array:
    return sweep(self.attack, logits_fn, x, y, eps=self.eps, key=key, strategy=self.strategy)


def minimal_norm_curve(radii: jax.Array, eps_grid: Sequence[float]) -> jax.Array:
  """Robust fraction [K] at each radius of eps_grid [K] from one minimum-norm run.

  radii [batch]: each example's smallest adversarial perturbation norm found
  (`attacks.minimal_radii`: inf where none was found, 0 where x itself is
  misclassified). An example counts as robust at eps when its radius exceeds
  eps: the curve of every radius costs the one attack (Pintor et al. 2021, Sec. 4).
  """
  if not isinstance(eps_grid, jax.core.Tracer):
    values = np.asarray(eps_grid, np.float32)
    if values.ndim != 1 or values.shape[0] < 1:
      raise ValueError(f"eps_grid must be a non-empty 1-D sequence, got shape {values.shape}.")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
      raise ValueError(f"every eps_grid value must be finite and >= 0, got {values}.")
  radii = jnp.asarray(radii)
  if radii.ndim != 1:
    raise ValueError(f"radii must be 1-D [batch], got shape {tuple(radii.shape)}.")
  eps = jnp.asarray(eps_grid, radii.dtype)
  return jnp.mean(radii[None, :] > eps[:, None], axis=1)
