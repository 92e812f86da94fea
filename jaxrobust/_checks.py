"""Input checks shared by every public entry: one message style, naming the
argument, its value and what is allowed.

What is checked when: shapes and dtypes always (they are static, also under
`jit`); values (label ranges, finiteness, signs) only when concrete, i.e.
Python numbers, numpy arrays and jax arrays outside a trace. Under `jit` the
value checks are skipped (a `jax.experimental.checkify` mode for them is not
written yet).
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np


def concrete_value(value):
  """value as a numpy array if it is a concrete number or numeric array, else None
  (tracers, and the placeholders jax puts in pytrees while transforming them)."""
  if isinstance(value, jax.core.Tracer):
    return None
  if isinstance(value, (numbers.Number, np.ndarray, np.generic, jax.Array)):
    arr = np.asarray(value)
    return arr if arr.dtype.kind in "biuf" else None
  return None


def check_number(name: str, value, *, low: float | None = None,
                 high: float | None = None, low_open: bool = False) -> None:
  """A concrete `value` must be finite and in [low, high] ((low, high] if low_open)."""
  arr = concrete_value(value)
  if arr is None:
    return
  bad = ~np.isfinite(arr)
  if low is not None:
    bad |= (arr <= low) if low_open else (arr < low)
  if high is not None:
    bad |= arr > high
  if np.any(bad):
    bounds = ([] if low is None else [f"{'>' if low_open else '>='} {low}"]) + (
        [] if high is None else [f"<= {high}"])
    raise ValueError(f"{name} must be finite{''.join(' and ' + b for b in bounds)}, "
                     f"got {value!r}.")


def check_labels(name: str, labels, num_classes: int | None = None,
                 batch: int | None = None) -> None:
  """labels: integer [batch]; values in [0, num_classes) when concrete."""
  dtype = jnp.asarray(labels).dtype if not hasattr(labels, "dtype") else labels.dtype
  if not jnp.issubdtype(dtype, jnp.integer):
    raise TypeError(f"{name} must hold integer labels, got dtype {dtype}.")
  shape = tuple(np.shape(labels))
  if len(shape) != 1 or (batch is not None and shape[0] != batch):
    want = "[batch]" if batch is None else f"[batch] = [{batch}]"
    raise ValueError(f"{name} must be {want}, got shape {shape}.")
  arr = concrete_value(labels)
  if arr is not None and arr.size and num_classes is not None:
    if arr.min() < 0 or arr.max() >= num_classes:
      raise ValueError(f"{name} must lie in [0, {num_classes}) (the classes), got values in "
                       f"[{arr.min()}, {arr.max()}].")


def check_logits(name: str, logits, min_classes: int = 1) -> None:
  """logits: [batch, classes] with at least `min_classes` classes."""
  shape = tuple(np.shape(logits))
  if len(shape) != 2 or shape[1] < min_classes:
    raise ValueError(f"{name} must be [batch, classes] with classes >= {min_classes}, "
                     f"got shape {shape}.")


def check_same_length(**arrays) -> None:
  """Every argument has the same leading dimension (the batch)."""
  lengths = {name: (np.shape(a)[0] if np.ndim(a) else None) for name, a in arrays.items()}
  if len(set(lengths.values())) > 1:
    raise ValueError("these must have the same number of examples (leading dimension): "
                     + ", ".join(f"{k} {v}" for k, v in lengths.items()) + ".")


def check_int_at_least(name: str, value, minimum: int) -> None:
  """value is an integer (not a bool) >= minimum."""
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
    raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
