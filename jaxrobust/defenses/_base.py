"""What every training objective receives and returns."""

from __future__ import annotations

from typing import Callable, Protocol

import jax

from jaxrobust import _checks

LogitsFn = Callable[[jax.Array], jax.Array]


class Defense(Protocol):
  """A training objective for one batch.

  Called as `defense(train_logits_fn, eval_logits_fn, x, y, key=key)`:
    train_logits_fn: the model in training mode, differentiated w.r.t. the
      parameters; call it at the top level (not under vmap/scan) because it
      also records BatchNorm statistics. The last call's statistics are kept.
    eval_logits_fn: the model in evaluation mode with parameters held fixed:
      what inner attacks see (as in Madry et al. and Zhang et al.'s TRADES code).
    x: inputs [batch, ...] in [0, 1]; y: labels [batch]; key: PRNG key.
  Returns (loss [batch], metrics: dict of [batch] arrays averaged by the caller).
  """

  def __call__(self, train_logits_fn: LogitsFn, eval_logits_fn: LogitsFn,
               x: jax.Array, y: jax.Array, *, key: jax.Array
               ) -> tuple[jax.Array, dict[str, jax.Array]]:
    ...


def accuracy(logits: jax.Array, y: jax.Array) -> jax.Array:
  """Per-example 0/1 correctness, [batch] float32."""
  return (logits.argmax(-1) == y).astype(jax.numpy.float32)


def check_nonnegative_fields(defense, names) -> None:
  """Each named numeric field, when concrete, is finite and >= 0 (for `__post_init__`)."""
  for name in names:
    _checks.check_number(f"{type(defense).__name__}.{name}", getattr(defense, name), low=0)
