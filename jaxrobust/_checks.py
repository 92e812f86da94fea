"""Input checks shared by every public entry: one message style, naming the
argument, its value and what is allowed.

What is checked when:
  * shapes, dtypes, names and structural integers: always (they are static,
    also under `jit`);
  * values (label ranges, finiteness, signs) when concrete: Python numbers,
    numpy arrays and jax arrays outside a trace, eagerly, as a ValueError;
  * values that are traced (under `jit`, `vmap`, `grad`): only inside
    `checked(fn)`, which runs fn jitted under `jax.experimental.checkify` and
    raises a `checkify.JaxRuntimeError` (a ValueError) with the same message
    when a check fails. Elsewhere traced values pass unchecked, and nothing is
    added to the compiled program.
"""

from __future__ import annotations

import contextvars
import functools
import numbers
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

# True while `checked` traces its function: traced values are then checked too.
_CHECKIFY = contextvars.ContextVar("jaxrobust_checkify", default=False)


def checked(fn: Callable, **jit_kwargs) -> Callable:
  """fn jitted with the value checks of traced inputs on (jax.experimental.checkify).

  `checked(f)(*args)` runs `jax.jit(checkify.checkify(f))` and raises the
  first failed check as a `checkify.JaxRuntimeError` (a ValueError), e.g. a
  NaN eps passed as a jit argument. Checks live only in functions traced
  while `checked` traces fn: a jitted function traced (and cached) before
  without checks stays unchecked inside it. `jit_kwargs` go to `jax.jit`.
  """
  def with_checks(*args, **kwargs):
    token = _CHECKIFY.set(True)
    try:
      return fn(*args, **kwargs)
    finally:
      _CHECKIFY.reset(token)

  run = jax.jit(checkify.checkify(with_checks), **jit_kwargs)

  @functools.wraps(fn)
  def wrapper(*args, **kwargs):
    error, out = run(*args, **kwargs)
    error.throw()
    return out

  return wrapper


def _traced_numbers(value) -> bool:
  """True for a traced numeric value while `checked` traces: check it with checkify."""
  return (_CHECKIFY.get() and isinstance(value, jax.core.Tracer)
          and jnp.issubdtype(value.dtype, jnp.number))


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
  bounds = ([] if low is None else [f"{'>' if low_open else '>='} {low}"]) + (
      [] if high is None else [f"<= {high}"])
  must = f"{name} must be finite{''.join(' and ' + b for b in bounds)}"
  arr = concrete_value(value)
  if arr is None:
    if _traced_numbers(value):
      ok = jnp.isfinite(value)
      if low is not None:
        ok &= (value > low) if low_open else (value >= low)
      if high is not None:
        ok &= value <= high
      checkify.check(jnp.all(ok), must + ", got {}.", value)
    return
  bad = ~np.isfinite(arr)
  if low is not None:
    bad |= (arr <= low) if low_open else (arr < low)
  if high is not None:
    bad |= arr > high
  if np.any(bad):
    raise ValueError(f"{must}, got {value!r}.")


def check_real(name: str, value, **bounds) -> None:
  """A host-side number: a concrete real scalar (not a string, None or tracer), then
  `check_number(name, value, **bounds)`."""
  arr = concrete_value(value)
  if arr is None or arr.ndim or isinstance(value, bool):
    raise TypeError(f"{name} must be a real number, got {value!r}.")
  check_number(name, value, **bounds)


def check_finite_tree(name: str, tree) -> None:
  """Every numeric leaf of the pytree `tree` (e.g. params) is finite: a concrete
  leaf eagerly (the error names the leaf, how many entries are bad and one of them),
  a traced one inside `checked`."""
  for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
    where = f"{name}{jax.tree_util.keystr(path)}"
    arr = concrete_value(leaf)
    if arr is None:
      if _traced_numbers(leaf):
        checkify.check(jnp.all(jnp.isfinite(leaf)), f"{where} must be finite, got a "
                       "non-finite entry (NaN or inf).")
      continue
    bad = ~np.isfinite(arr) if arr.dtype.kind == "f" else np.zeros(arr.shape, bool)
    if np.any(bad):
      raise ValueError(f"{where} must be finite, got {int(bad.sum())} non-finite "
                       f"entries of {arr.size} (e.g. {arr[bad].flat[0]!r}).")


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
  if arr is None and num_classes is not None and _traced_numbers(labels):
    checkify.check(jnp.all((labels >= 0) & (labels < num_classes)),
                   f"{name} must lie in [0, {num_classes}) (the classes), got {{}}.", labels)
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


def check_choice(name: str, value, choices: Sequence) -> None:
  """value is one of choices (a name from a registry, a mode, a norm)."""
  if value not in choices:
    raise ValueError(f"Unknown {name} {value!r}; valid choices: {tuple(choices)}.")


def check_ndim(name: str, value, axes: Sequence[str]) -> None:
  """value has one axis per name in axes, e.g. ("batch", "height", "width", "channels")."""
  shape = tuple(np.shape(value))
  if len(shape) != len(axes):
    raise ValueError(f"{name} must be [{', '.join(axes)}], got shape {shape}.")


def _dtype(value):
  """The dtype of an array, tracer or array-like (without converting a tracer)."""
  return value.dtype if hasattr(value, "dtype") else np.asarray(value).dtype


def _summary(arr: np.ndarray, bad: np.ndarray) -> str:
  """'k of n entries (e.g. v)' for the bad entries of a concrete array."""
  return f"{int(bad.sum())} of {arr.size} entries (e.g. {arr[bad].flat[0]!r})"


def check_int(name: str, value, minimum: int, maximum: int | None = None) -> None:
  """value is an integer (not a bool, not a float such as 2.5) in [minimum, maximum]."""
  ok = not isinstance(value, bool) and isinstance(value, (int, np.integer))
  if not ok or value < minimum or (maximum is not None and value > maximum):
    valid = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
    raise ValueError(f"{name} must be an integer {valid}, got {value!r}.")


def check_widths(name: str, widths) -> None:
  """A sequence of layer widths: each an integer >= 1 (a hidden width of 0 or -8
  would build an empty or broken layer)."""
  if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
    raise TypeError(f"{name} must be a sequence of integer widths >= 1, got {widths!r}.")
  for i, w in enumerate(widths):
    check_int(f"{name}[{i}]", w, 1)


def check_array_range(name: str, value, low: float | None = None, high: float | None = None,
                      hint: str = "") -> None:
  """A concrete array is finite and inside [low, high] (skipped when traced); the
  message gives the range found and `hint` (e.g. how to rescale)."""
  arr = concrete_value(value)
  if arr is None or not arr.size:
    return
  if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
    bad = ~np.isfinite(arr)
    raise ValueError(f"{name} must be finite, got {_summary(arr, bad)} non-finite.")
  lo, hi = arr.min(), arr.max()
  if (low is not None and lo < low) or (high is not None and hi > high):
    raise ValueError(f"{name} must lie in [{'-inf' if low is None else low}, "
                     f"{'inf' if high is None else high}], got values in [{lo}, {hi}]"
                     f"{'; ' + hint if hint else ''}.")


def check_unit_images(name: str, images) -> None:
  """Float images in the model input space [0, 1] (not 0..255 counts)."""
  dtype = _dtype(images)
  if not jnp.issubdtype(dtype, jnp.floating):
    raise TypeError(f"{name} must be floating point in [0, 1], got dtype {dtype} "
                    "(uint8 images: divide by 255, or use data.to_float).")
  check_array_range(name, images, 0.0, 1.0, "images in 0..255 must be divided by 255")


def check_waveforms(name: str, x, *, bounded: bool = False) -> None:
  """Waveforms float [batch, samples], finite when concrete (inside [-1, 1] if bounded)."""
  check_ndim(name, x, ("batch", "samples"))
  dtype = _dtype(x)
  if not jnp.issubdtype(dtype, jnp.floating):
    raise TypeError(f"{name} must be floating point samples in [-1, 1], got dtype {dtype} "
                    "(int16 PCM counts: divide by 32768).")
  if bounded:
    check_array_range(name, x, -1.0, 1.0)
  else:
    check_array_range(name, x)
  if _traced_numbers(x):
    checkify.check(jnp.all(jnp.isfinite(x)), f"{name} must be finite, got a NaN or inf sample.")


def check_binary_mask(name: str, mask, shape: tuple | None = None) -> None:
  """A mask of 0/1 (or bool) entries, finite, shaped `shape` if given (concrete values:
  a NaN or a probability in (0, 1) is not a mask)."""
  if shape is not None and tuple(np.shape(mask)) != tuple(shape):
    raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(np.shape(mask))}.")
  arr = concrete_value(mask)
  if arr is None or arr.dtype.kind == "b":
    return
  bad = ~np.isin(arr, (0, 1))
  if np.any(bad):
    raise ValueError(f"{name} must hold only 0 and 1 (or booleans), got {_summary(arr, bad)}.")


def check_probabilities(name: str, probs, atol: float = 1e-3, zero_rows: bool = False) -> None:
  """Rows of probabilities [..., classes] in [0, 1] summing to 1 (concrete values);
  zero_rows: an all-zero row is allowed too (a point that weighs no class)."""
  arr = concrete_value(probs)
  if arr is None or not arr.size:
    return
  check_array_range(name, arr, 0.0, 1.0, "log-probabilities or logits: apply "
                    "jnp.exp or jax.nn.softmax first")
  sums = arr.sum(-1)
  bad = np.abs(sums - 1.0) > atol
  if zero_rows:
    bad &= sums != 0
  if np.any(bad):
    raise ValueError(f"{name} rows must sum to 1{' (or 0)' if zero_rows else ''} "
                     f"(probability vectors), got sums in [{sums.min()}, {sums.max()}].")


def check_gram(name: str, gram) -> None:
  """A Gram matrix [K, K], K >= 1: square, and (when concrete) finite and symmetric."""
  shape = tuple(np.shape(gram))
  if len(shape) != 2 or shape[0] != shape[1] or shape[0] < 1:
    raise ValueError(f"{name} must be square [K, K] with K >= 1 (a Gram matrix), got shape "
                     f"{shape}.")
  arr = concrete_value(gram)
  if arr is None:
    return
  check_array_range(name, arr)
  gap = float(np.max(np.abs(arr - arr.T)))
  if gap > 1e-5 * max(1.0, float(np.max(np.abs(arr)))):
    raise ValueError(f"{name} must be symmetric (a matrix of inner products), got "
                     f"max |G - G^T| = {gap:.3g}.")


def check_signed_labels(name: str, labels) -> None:
  """Concrete labels all -1 or +1 (not {0, 1}: convert with theory.to_signed_labels)."""
  arr = concrete_value(labels)
  if arr is not None and not np.all(np.isin(arr, (-1, 1))):
    raise ValueError(f"{name} must hold labels -1 or +1 (use to_signed_labels for {{0, 1}}), "
                     f"got values {np.unique(arr)[:5].tolist()}.")


def check_nonempty(name: str, value) -> None:
  """value has at least one example (an empty input has no defined result)."""
  if not np.shape(value) or np.shape(value)[0] == 0:
    raise ValueError(f"{name} must hold at least one example, got shape {np.shape(value)}.")


def leading_size(name: str, data) -> int:
  """The common leading (example) axis N of a pytree of arrays [N, ...]; a ValueError
  for no arrays, a scalar, or leading axes that differ."""
  leaves = jax.tree.leaves(data)
  if not leaves:
    raise ValueError(f"{name} must be a pytree of arrays [N, ...], got no arrays.")
  sizes = {np.shape(a)[0] if np.ndim(a) else None for a in leaves}
  if len(sizes) != 1 or None in sizes:
    raise ValueError(f"every array of {name} must share its leading (example) axis, got "
                     f"leading sizes {sorted(map(str, sizes))}.")
  return sizes.pop()


def check_numbers(name: str, values, *, low: float | None = None, high: float | None = None,
                  low_open: bool = False) -> None:
  """A non-empty sequence of real numbers, each finite and in [low, high] ((low, high] if
  low_open): kernel bandwidths, schedule points."""
  if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)) \
      or not len(values):
    raise ValueError(f"{name} must be a non-empty sequence of real numbers, got {values!r}.")
  for i, v in enumerate(values):
    check_real(f"{name}[{i}]", v, low=low, high=high, low_open=low_open)


def check_image_batch(name: str, images) -> None:
  """Images [batch, h, w, c], uint8 (0..255) or float in [0, 1] when concrete (what
  `data.to_float` accepts), with at least one image."""
  check_ndim(name, images, ("batch", "height", "width", "channels"))
  check_nonempty(name, images)
  dtype = _dtype(images)
  if dtype == np.uint8:
    return
  if not jnp.issubdtype(dtype, jnp.floating):
    raise TypeError(f"{name} must be uint8 (0..255) or floating point in [0, 1], got dtype "
                    f"{dtype}.")
  check_array_range(name, images, 0.0, 1.0, "float images in 0..255 must be divided by 255")


def check_optimizer(learning_rate, weight_decay=0.0) -> None:
  """An optimizer's learning rate (finite, > 0) and weight decay (finite, >= 0): a negative
  rate ascends the loss, a negative decay grows the weights."""
  check_real("learning_rate", learning_rate, low=0.0, low_open=True)
  check_real("weight_decay", weight_decay, low=0.0)
