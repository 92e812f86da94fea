"""The attack contract, held once.

An attack is a frozen `flax.struct` dataclass deriving from `Attack`: numeric
hyperparameters are pytree leaves (traceable, so a jit program or a vmap sweep
can vary them), structural ones are static fields (`static(default)`). Its file
declares the fields, names which of them to check (class attributes below) and
writes `run`, the algorithm. `Attack` does the rest on every call:

  attack(logits_fn, x, y, *, key=None) -> x_adv   (DESIGN.md, "The contract")

Checks: static fields at construction (`__post_init__`); numeric fields when
concrete, at `validate()` and at every call (traced values are the caller's);
the batch (dtype, shape, inside [0, 1], no NaN); the PRNG key when the attack
draws random numbers.
"""

from __future__ import annotations

from typing import ClassVar

import jax
from flax import struct

from jaxrobust import _checks
from jaxrobust.attacks import _core
from jaxrobust.losses import get_loss


def _num_classes(logits_fn, x: jax.Array, key) -> int | None:
  """The class count of logits_fn's logits [batch, classes], by `jax.eval_shape` (no
  compute); None when neither logits_fn(x) nor logits_fn(x, key) traces (the run
  then raises its own error)."""
  spec = jax.ShapeDtypeStruct(x.shape, x.dtype)
  calls = [(logits_fn, (spec,))]
  if key is not None:  # a randomized model: logits_fn(x, key)
    calls.append((logits_fn, (spec, key)))
  for fn, args in calls:
    try:
      out = jax.eval_shape(fn, *args)
    except TypeError:  # wrong arity (a model that takes a key)
      continue
    shape = getattr(out, "shape", ())
    return shape[-1] if len(shape) == 2 else None
  return None


def static(default):
  """A structural (non-pytree) field: part of the compiled program's identity."""
  return struct.field(pytree_node=False, default=default)


class Attack:
  """Base of every attack: `attack(logits_fn, x, y, *, key=None) -> x_adv`.

  Class attributes a subclass sets:
    NONNEGATIVE: numeric fields that must be finite and >= 0 when concrete.
    PROBABILITIES: numeric fields that must lie in [0, 1] when concrete.
    MINIMUMS: static integer fields -> their smallest valid value (None skips).
    NORMS: the norms `norm` may name.
    IMAGES: inputs must be images [batch, height, width, channels].
    RANDOMIZED: why every call needs a key (None: only `random_start` does).
  """

  NONNEGATIVE: ClassVar[tuple[str, ...]] = ("eps", "step_size")
  PROBABILITIES: ClassVar[tuple[str, ...]] = ()
  MINIMUMS: ClassVar[dict[str, int]] = {}
  NORMS: ClassVar[tuple[str, ...]] = _core.NORMS
  IMAGES: ClassVar[bool] = False
  RANDOMIZED: ClassVar[str | None] = None

  def __post_init__(self):
    _core.check_static_fields(self)
    for name, low in self.MINIMUMS.items():
      if getattr(self, name) is not None:
        _core.check_at_least(name, getattr(self, name), low)
    self.check_static()

  def check_static(self) -> None:
    """Checks of static fields beyond `MINIMUMS` (a subclass's hook)."""

  def validate(self):
    """Checks the numeric hyperparameters when they are concrete; returns self."""
    _core.check_numeric_fields(self, self.NONNEGATIVE)
    for name in self.PROBABILITIES:
      _checks.check_number(name, getattr(self, name), low=0, high=1)
    self.check_numeric()
    return self

  def check_numeric(self) -> None:
    """Checks of numeric fields beyond `NONNEGATIVE` (a subclass's hook)."""

  def key_reason(self) -> str | None:
    """Why this call needs a PRNG key, or None when it is deterministic."""
    if self.RANDOMIZED is not None:
      return self.RANDOMIZED
    if getattr(self, "random_start", False):
      return "random_start=True"
    return None

  def loss_and_sign(self):
    """(per-example loss from `jaxrobust.losses`, +1 to ascend it or -1 if targeted)."""
    return get_loss(self.loss), (-1.0 if getattr(self, "targeted", False) else 1.0)

  def __call__(self, logits_fn: _core.LogitsFn, x: jax.Array, y: jax.Array, *,
               key: jax.Array | None = None) -> jax.Array:
    """Returns x_adv, shaped like x, inside the attack's threat model and [0, 1].

    Args:
      logits_fn: inputs [batch, ...] -> logits [batch, classes] (a randomized
        attack's model may take a key too, as its class says).
      x: clean inputs [batch, ...] in [0, 1] (images [batch, h, w, c] where
        the attack works on pixels).
      y: integer labels [batch] (target labels if the attack is `targeted`).
      key: PRNG key; required when the attack draws random numbers
        (`key_reason()`), unused otherwise.
    """
    self.check_call(x, y, key, logits_fn)
    return self.run(logits_fn, x, y, key)

  def check_call(self, x: jax.Array, y: jax.Array, key: jax.Array | None,
                 logits_fn: _core.LogitsFn | None = None) -> None:
    """The checks of `__call__` (also for an attack's other entry points); with
    `logits_fn`, concrete labels must lie in [0, classes) of its logits."""
    self.validate()
    _core.check_batch(x, y)
    name = type(self).__name__
    if logits_fn is not None and _checks.concrete_value(y) is not None:
      classes = _num_classes(logits_fn, x, key)
      if classes is not None:
        _checks.check_labels("y", y, classes)
    if self.IMAGES and x.ndim != 4:
      raise ValueError(f"{name} needs images x [batch, height, width, channels]; "
                       f"got shape {tuple(x.shape)}.")
    reason = self.key_reason()
    if reason is not None and key is None:
      raise ValueError(f"{name} is randomized ({reason}) and needs a PRNG `key`.")

  def run(self, logits_fn, x: jax.Array, y: jax.Array, key: jax.Array | None) -> jax.Array:
    """The algorithm, on inputs the contract has checked."""
    raise NotImplementedError
