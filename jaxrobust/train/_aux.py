"""Aux values of a callback that third-party code calls, returned instead of leaked."""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from jax.extend.core import get_opaque_trace_state

T = TypeVar("T")


def with_last_aux(body: Callable[[Callable[..., Any]], T],
                  fn_with_aux: Callable[..., tuple[Any, Any]]) -> tuple[T, Any]:
  """Runs `body(fn)`, fn(*a) = fn_with_aux(*a)[0]; returns (body's output, aux).

  aux is the aux of fn's LAST call made at body's own trace level (the level of
  this call), or None when fn was never called there. `body` is code whose
  signature hands out a plain function (a defense gets `train_logits_fn`, an
  optax transform `grad_fn`), so the aux cannot come back through its return
  value: one cell local to this call holds it. That is safe because only calls
  at this trace level write it: a call under vmap/scan/cond/grad inside body
  (its aux a tracer of that inner trace) is not recorded, so nothing escapes
  its trace, and the caller receives the value as a plain return value.
  """
  level = get_opaque_trace_state()
  last = [None]

  def fn(*args):
    value, aux = fn_with_aux(*args)
    if get_opaque_trace_state() == level:
      last[0] = aux
    return value

  return body(fn), last[0]
