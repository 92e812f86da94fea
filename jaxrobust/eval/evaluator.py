"""Clean and robust accuracy over a whole split, one compiled program per attack."""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from jaxrobust import _checks
from jaxrobust.data import to_float

ApplyFn = Callable[[Any, jax.Array], jax.Array]  # (variables, x) -> logits


def _correct(apply_fn: ApplyFn, attack, variables, images, labels, key):
  """Per-example correctness [b] at x or at attack(x); [K, b] for an attack
  that returns K adversarial batches (e.g. `attacks.Sweep`, a curve over eps)."""
  logits_fn = lambda z: apply_fn(variables, z)  # the attack sees only this
  x = to_float(images)
  if attack is not None:
    x = attack(logits_fn, x, labels, key=key)
  if x.ndim == images.ndim + 1:
    return jax.vmap(lambda z: logits_fn(z).argmax(-1) == labels)(x)
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
    stacked: `variables` hold several models of one architecture stacked
      along a leading axis (see `stack_variables`); they are evaluated together
      by vmap over the parameters, and every result gains a leading model axis.
  """

  def __init__(self, apply_fn: ApplyFn, attacks: Mapping[str, Any],
               batch_size: int = 500, stacked: bool = False):
    if batch_size < 1:
      raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    self.batch_size = batch_size
    self.stacked = stacked
    self._apply_fn = apply_fn
    self._classes = {}  # input shape -> class count of the model
    self._steps = {}
    for name, attack in attacks.items():
      step = functools.partial(_correct, apply_fn, attack)
      if stacked:
        step = jax.vmap(step, in_axes=(0, None, None, None))
      self._steps[name] = jax.jit(step)

  def _num_classes(self, variables, images) -> int:
    """The model's class count, traced once per input shape at the first batch's
    compiled shape, from the variables' shapes alone (model 0's if stacked): no
    slicing of stacked or multi-host arrays."""
    if images.shape[1:] not in self._classes:
      one_model = jax.tree.map(lambda v: jax.ShapeDtypeStruct(
          v.shape[1:] if self.stacked else v.shape, v.dtype), variables)
      first = batch_plan(len(images), self.batch_size)[0][1]
      self._classes[images.shape[1:]] = jax.eval_shape(
          self._apply_fn, one_model,
          jax.ShapeDtypeStruct((first,) + images.shape[1:], jnp.float32)).shape[-1]
    return self._classes[images.shape[1:]]

  def correct(self, variables, images: np.ndarray, labels: np.ndarray, *,
              key: jax.Array, progress: bool = False) -> dict[str, np.ndarray]:
    """Per-example correctness, name -> bool [n] ([models, n] if stacked).

    images: uint8 [n, h, w, c]; labels: int [n].

    Every batch gets its own key, fold_in(key, batch index): results do not
    depend on how many attacks are evaluated.
    """
    _checks.check_same_length(images=images, labels=labels)
    if not len(labels):
      raise ValueError("images and labels hold no examples: nothing to evaluate.")
    _checks.check_labels("labels", labels, self._num_classes(variables, images), len(images))
    out = {name: [] for name in self._steps}
    plan = batch_plan(len(labels), self.batch_size)
    for i, (start, rows) in enumerate(tqdm(plan, disable=not progress, desc="eval",
                                           leave=False)):
      x, y = images[start:start + rows], labels[start:start + rows]
      n = len(y)
      if rows > n:  # pad to a compiled batch shape; padded rows are dropped below
        x = np.concatenate([x, np.zeros((rows - n,) + x.shape[1:], x.dtype)])
        y = np.concatenate([y, np.zeros((rows - n,), y.dtype)])
      batch_key = jax.random.fold_in(key, i)
      for name, step in self._steps.items():
        out[name].append(np.asarray(step(variables, x, y, batch_key))[..., :n])
    return {name: np.concatenate(v, axis=-1) for name, v in out.items()}

  def __call__(self, variables, images: np.ndarray, labels: np.ndarray, *,
               key: jax.Array, progress: bool = False) -> dict[str, float]:
    """Accuracy per attack name (a list over models if stacked; see `correct`)."""
    correct = self.correct(variables, images, labels, key=key, progress=progress)
    return {name: c.mean(-1).tolist() if self.stacked else float(c.mean())
            for name, c in correct.items()}


def padded_size(n: int, batch_size: int) -> int:
  """The compiled batch shape for n examples: the next power of two >= n, at most
  batch_size. Padding a few survivors of an ensemble to a full batch would make
  every later attack cost as much as the first; powers of two bound the number
  of compiled shapes per attack to log2(batch_size) + 1."""
  return min(batch_size, 1 << max(n - 1, 0).bit_length())


_MIN_SPLIT = 8  # rows: smaller batches cost more in calls than in padding


def batch_plan(n: int, batch_size: int, max_waste: float | None = None) -> list[tuple[int, int]]:
  """(first example, compiled rows) of each batch that covers n examples.

  Full batches of batch_size, then the remainder in power-of-two batches (the
  shapes `padded_size` compiles): padded whole when the padding is at most
  max_waste of the batch, else the largest power of two below it is split off
  and the rest planned the same way (23 survivors of a batch of 32: 16 + 8
  rows, not 32); batches of at most 8 rows are never split. Padded rows are
  model passes spent on nothing, which matters where compute grows with rows.
  max_waste None: 1/8 on CPU; on accelerators 1 (one padded batch), where a
  batch below saturation costs about what a smaller one does and each extra
  batch costs a launch.
  """
  if max_waste is None:
    max_waste = 0.125 if jax.default_backend() == "cpu" else 1.0
  plan, start = [], 0
  while n - start >= batch_size:
    plan.append((start, batch_size))
    start += batch_size
  while start < n:
    rest = n - start
    rows = padded_size(rest, batch_size)
    if rows > _MIN_SPLIT and rows - rest > max_waste * rows:
      rows = 1 << (rest.bit_length() - 1)  # <= rest: full; the rest is planned after it
    plan.append((start, rows))
    start += min(rows, rest)
  return plan


def stack_variables(variables: Sequence[Any]) -> Any:
  """Stacks the variables of models of one architecture along a new leading axis."""
  if not variables:
    raise ValueError("stack_variables needs at least one set of variables.")
  shapes = [jax.tree.map(np.shape, v) for v in variables]
  for i, s in enumerate(shapes[1:], 1):
    if s != shapes[0]:
      raise ValueError(f"model {i} has a different architecture (parameter shapes) "
                       "than model 0: only models of one architecture stack.")
  return jax.tree.map(lambda *leaves: np.stack(leaves), *variables)
