"""The shared core of gradient attacks: checks, norms, projections, starts, steps.

Every function works on a batch [batch, ...] and treats each example on its own:
norms, projections and steps are per example.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax.projections as projections

NORMS = ("linf", "l2")
BOX = (0.0, 1.0)  # inputs live in pixel space (DESIGN.md)

LogitsFn = Callable[[jax.Array], jax.Array]


def _is_concrete(value) -> bool:
  return not isinstance(value, jax.core.Tracer)


def check_choice(kind: str, value: str, choices) -> None:
  if value not in choices:
    raise ValueError(f"Unknown {kind} {value!r}; valid choices: {tuple(choices)}.")


def check_nonnegative(name: str, value) -> None:
  """Raises for a concrete negative or non-finite value; tracers pass (checked by the caller)."""
  if _is_concrete(value):
    arr = np.asarray(value)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
      raise ValueError(f"{name} must be finite and >= 0, got {value}.")


def check_at_least(name: str, value: int, minimum: int) -> None:
  if not isinstance(value, (int, np.integer)) or value < minimum:
    raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")


def check_batch(x: jax.Array, y: jax.Array) -> None:
  """x float [batch, ...] inside the box, y integer [batch]; NaNs rejected when concrete."""
  if not jnp.issubdtype(x.dtype, jnp.floating):
    raise TypeError(f"x must be floating point in [0, 1], got dtype {x.dtype}.")
  if not jnp.issubdtype(y.dtype, jnp.integer):
    raise TypeError(f"y must hold integer labels, got dtype {y.dtype}.")
  if x.ndim < 2 or y.shape != x.shape[:1]:
    raise ValueError(f"x must be [batch, ...] and y [batch]; got x {tuple(x.shape)}, "
                     f"y {tuple(y.shape)}.")
  if _is_concrete(x):
    xs = np.asarray(x)
    if np.isnan(xs).any():
      raise ValueError("x contains NaN.")
    if xs.min(initial=0.0) < BOX[0] or xs.max(initial=0.0) > BOX[1]:
      raise ValueError(f"x must lie in the input box {BOX}; got values in "
                       f"[{xs.min()}, {xs.max()}].")


def _flat(x: jax.Array) -> jax.Array:
  return x.reshape(x.shape[0], -1)


def norm(delta: jax.Array, ord: str) -> jax.Array:
  """Per-example norm of delta [batch, ...] -> [batch]."""
  check_choice("norm", ord, NORMS + ("l1",))
  flat = _flat(delta)
  if ord == "linf":
    return jnp.max(jnp.abs(flat), axis=1)
  if ord == "l2":
    return jnp.sqrt(jnp.sum(flat * flat, axis=1))
  return jnp.sum(jnp.abs(flat), axis=1)


def project(delta: jax.Array, eps: jax.Array, ord: str) -> jax.Array:
  """Projects each example of delta [batch, ...] onto the `ord` ball of radius eps."""
  check_choice("norm", ord, NORMS)
  ball = {"linf": projections.projection_linf_ball,
          "l2": projections.projection_l2_ball}[ord]
  eps = jnp.broadcast_to(jnp.asarray(eps, delta.dtype), delta.shape[:1])
  projected = jax.vmap(ball)(delta, eps)
  # optax's L2 projection computes 0/0 = NaN for delta = 0 at radius 0.
  return jnp.where(_expand(eps > 0, delta), projected, jnp.zeros_like(delta))


def clip_to_box(x: jax.Array) -> jax.Array:
  return jnp.clip(x, *BOX)


def random_start(key: jax.Array, x: jax.Array, eps: jax.Array, ord: str) -> jax.Array:
  """A point drawn uniformly from the `ord` ball of radius eps around each x, in the box."""
  check_choice("norm", ord, NORMS)
  eps = jnp.asarray(eps, x.dtype)
  if ord == "linf":
    delta = jax.random.uniform(key, x.shape, x.dtype, -1.0, 1.0) * eps
  else:
    # Uniform in the L2 ball: a Gaussian direction and radius eps * u^(1/d).
    dir_key, radius_key = jax.random.split(key)
    direction = jax.random.normal(dir_key, x.shape, x.dtype)
    direction = direction / _expand(norm(direction, "l2"), x)
    d = np.prod(x.shape[1:])
    radius = jax.random.uniform(radius_key, x.shape[:1], x.dtype) ** (1.0 / d)
    delta = direction * _expand(radius, x) * eps
  return clip_to_box(x + delta)


def _expand(per_example: jax.Array, like: jax.Array) -> jax.Array:
  return per_example.reshape((-1,) + (1,) * (like.ndim - 1))


def ascent_direction(grad: jax.Array, ord: str) -> jax.Array:
  """The steepest-ascent unit step for a norm: sign for Linf, grad / ||grad||_2 for L2."""
  check_choice("norm", ord, NORMS)
  if ord == "linf":
    return jnp.sign(grad)
  # The floor keeps a zero gradient a zero step instead of NaN.
  return grad / _expand(jnp.maximum(norm(grad, "l2"), 1e-12), grad)


def input_gradient(logits_fn: LogitsFn, loss_fn, x: jax.Array, y: jax.Array) -> jax.Array:
  """d sum_i loss(logits_fn(x)_i, y_i) / dx: per-example gradients, as examples don't interact."""
  return jax.grad(lambda z: jnp.sum(loss_fn(logits_fn(z), y)))(x)
