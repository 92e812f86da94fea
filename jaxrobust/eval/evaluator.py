"""Clean and robust accuracy over a whole split, one compiled program per attack."""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping

import jax
import numpy as np
from tqdm.auto import tqdm

from jaxrobust.data import sequential_batches, to_float

ApplyFn = Callable[[Any, jax.Array], jax.Array]  # (variables, x) -> logits


def _correct(apply_fn: ApplyFn, attack, variables, images, labels, key):
  """Per-example correctness [b] at x, or at attack(x)."""
  logits_fn = lambda z: apply_fn(variables, z)  # the attack sees only this
  x = to_float(images)
  if attack is not None:
    x = attack(logits_fn, x, labels, key=key)
  return logits_fn(x).argmax(-1) == labels


class Evaluator:
  """Accuracy of a model under a fixed set of attacks.

  Each attack's evaluation step is jitted once at construction and reused for
  every call and batch (the last batch is padded), so a training
  run evaluates each epoch without recompiling.

  Args:
    apply_fn: (variables, x [b, h, w, c] in [0, 1]) -> logits [b, classes], e.g.
      `functools.partial(model.apply, train=False)`.
    attacks: name -> attack object, or None for clean accuracy.
    batch_size: examples per compiled step.
  """

  def __init__(self, apply_fn: ApplyFn, attacks: Mapping[str, Any],
               batch_size: int = 500):
    if batch_size < 1:
      raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    self.batch_size = batch_size
    self._steps = {name: jax.jit(functools.partial(_correct, apply_fn, attack))
                   for name, attack in attacks.items()}

  def correct(self, variables, images: np.ndarray, labels: np.ndarray, *,
              key: jax.Array, progress: bool = False) -> dict[str, np.ndarray]:
    """Per-example correctness, name -> bool [n], over images uint8 [n, h, w, c].

    Every batch gets its own key, fold_in(key, batch index): results do not
    depend on how many attacks are evaluated.
    """
    out = {name: [] for name in self._steps}
    batches = sequential_batches(images, labels, self.batch_size)
    total = -(-len(labels) // self.batch_size)
    for i, (x, y) in enumerate(tqdm(batches, total=total, disable=not progress,
                                    desc="eval", leave=False)):
      n = len(y)
      pad = self.batch_size - n
      if pad:  # pad to the compiled batch shape; padded rows are dropped below
        x = np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)])
        y = np.concatenate([y, np.zeros((pad,), y.dtype)])
      batch_key = jax.random.fold_in(key, i)
      for name, step in self._steps.items():
        out[name].append(np.asarray(step(variables, x, y, batch_key))[:n])
    return {name: np.concatenate(v) for name, v in out.items()}

  def __call__(self, variables, images: np.ndarray, labels: np.ndarray, *,
               key: jax.Array, progress: bool = False) -> dict[str, float]:
    """Accuracy per attack name (see `correct`)."""
    correct = self.correct(variables, images, labels, key=key, progress=progress)
    return {name: float(c.mean()) for name, c in correct.items()}
