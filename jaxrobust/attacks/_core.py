"""The shared core of gradient attacks: checks, norms, projections, starts, steps.

Every function works on a batch [batch, ...] and treats each example on its own:
norms, projections and steps are per example.
"""

from __future__ import annotations

import os
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax.projections as projections

from jaxrobust import _checks
from jaxrobust.losses import LOSSES

NORMS = ("linf", "l2", "l1")
BOX = (0.0, 1.0)  # inputs live in pixel space (DESIGN.md)

LogitsFn = Callable[[jax.Array], jax.Array]


def _is_concrete(value) -> bool:
  return not isinstance(value, jax.core.Tracer)


check_choice = _checks.check_choice


def check_nonnegative(name: str, value) -> None:
  """Raises for a concrete negative or non-finite value; tracers (and jax's pytree
  placeholders) pass: traced values are the caller's to check."""
  _checks.check_number(name, value, low=0)


check_at_least = _checks.check_int_at_least


def check_static_fields(attack) -> None:
  """Checks an attack's structural fields (those it has); for `__post_init__`.

  Static fields are plain Python values even when jax rebuilds the object, so
  they can be checked at construction.
  """
  if hasattr(attack, "steps"):
    check_at_least("steps", attack.steps, 1)
  if hasattr(attack, "norm"):
    check_choice("norm", attack.norm, getattr(attack, "NORMS", NORMS))
  if hasattr(attack, "loss"):
    check_choice("loss", attack.loss, LOSSES)


def check_numeric_fields(attack, names=("eps", "step_size")) -> None:
  """Checks an attack's numeric fields (those it has) when they are concrete."""
  for name in names:
    if hasattr(attack, name):
      check_nonnegative(name, getattr(attack, name))


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
  check_choice("norm", ord, NORMS)
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
          "l2": projections.projection_l2_ball,
          "l1": projections.projection_l1_ball}[ord]
  eps = jnp.broadcast_to(jnp.asarray(eps, delta.dtype), delta.shape[:1])
  projected = jax.vmap(ball)(delta, eps)
  if ord == "l2":
    # Below ~1e-19, eps^2 and ||delta||^2 flush to 0 in float32 and optax divides by
    # 0 (inf/NaN). The projection commutes with scaling: project delta / s onto
    # radius eps / s, s = max(max|delta|, eps), and scale back; used only there.
    s = jnp.maximum(jnp.max(jnp.abs(delta).reshape(delta.shape[0], -1), axis=1), eps)
    s = jnp.where(s > 0, s, 1)
    rescaled = jax.vmap(ball)(delta / _expand(s, delta), eps / s) * _expand(s, delta)
    finite = jnp.all(jnp.isfinite(projected).reshape(delta.shape[0], -1), axis=1)
    projected = jnp.where(_expand(finite, delta), projected, rescaled)
  # optax's L2 projection computes 0/0 = NaN for delta = 0 at radius 0.
  # Radius 0 also spares the L1 projection its sort.
  return jnp.where(_expand(eps > 0, delta), projected, jnp.zeros_like(delta))


def clip_to_box(x: jax.Array) -> jax.Array:
  return jnp.clip(x, *BOX)


def to_ball_and_box(x: jax.Array, x_adv: jax.Array, eps: jax.Array, ord: str) -> jax.Array:
  """x_adv pulled into the `ord` ball of radius eps around x, then into the box.

  Projecting first and clipping second keeps both constraints: clipping to the
  box only moves a coordinate toward x's own (in-box) value.
  """
  if np.shape(x) != np.shape(x_adv):
    raise ValueError(f"x and x_adv must have one shape, got {np.shape(x)} and "
                     f"{np.shape(x_adv)}.")
  check_nonnegative("eps", eps)
  return clip_to_box(x + project(x_adv - x, eps, ord))


def random_start(key: jax.Array, x: jax.Array, eps: jax.Array, ord: str) -> jax.Array:
  """A point drawn uniformly from the `ord` ball of radius eps around each x, then clipped to the box."""
  check_choice("norm", ord, NORMS)
  check_nonnegative("eps", eps)
  eps = jnp.asarray(eps, x.dtype)
  if ord == "linf":
    return clip_to_box(x + jax.random.uniform(key, x.shape, x.dtype, -1.0, 1.0) * eps)
  # Uniform in a ball of dimension d: a direction uniform on the sphere (Gaussian
  # for L2, Laplace for L1, each normalised) and radius eps * u^(1/d).
  dir_key, radius_key = jax.random.split(key)
  sample = jax.random.normal if ord == "l2" else jax.random.laplace
  direction = sample(dir_key, x.shape, x.dtype)
  direction = direction / _expand(jnp.maximum(norm(direction, ord), 1e-12), x)
  d = np.prod(x.shape[1:])
  radius = jax.random.uniform(radius_key, x.shape[:1], x.dtype) ** (1.0 / d)
  return clip_to_box(x + direction * _expand(radius, x) * eps)


def _expand(per_example: jax.Array, like: jax.Array) -> jax.Array:
  return per_example.reshape((-1,) + (1,) * (like.ndim - 1))


def ascent_direction(grad: jax.Array, ord: str, l1_sparsity: float = 0.95) -> jax.Array:
  """The steepest-ascent step of unit `ord` norm, per example.

  linf: sign(grad). l2: grad / ||grad||_2. l1: the sparse step of Tramer & Boneh
  (2019): sign(grad) on the coordinates whose |grad| is at or above the
  `l1_sparsity` quantile, scaled to unit L1 norm (a plain L1 steepest step moves
  one coordinate and stalls).
  """
  check_choice("norm", ord, NORMS)
  _checks.check_number("l1_sparsity", l1_sparsity, low=0, high=1)
  if ord == "linf":
    return jnp.sign(grad)
  if ord == "l2":
    # The floor keeps a zero gradient a zero step instead of NaN.
    return grad / _expand(jnp.maximum(norm(grad, "l2"), 1e-12), grad)
  magnitude = jnp.abs(_flat(grad))
  threshold = jnp.quantile(magnitude, l1_sparsity, axis=1, keepdims=True)
  chosen = (magnitude >= threshold) & (magnitude > 0)
  step = jnp.sign(_flat(grad)) * chosen
  step = step / jnp.maximum(jnp.sum(chosen, axis=1, keepdims=True), 1)
  return step.reshape(grad.shape)


# Loops of at most this many steps are traced unrolled (`step_loop`);
# $JAXROBUST_UNROLL_MAX_STEPS overrides it (0: never unroll, e.g. where compile
# time dominates, as in the test suite's hundreds of short runs).
DEFAULT_UNROLL_MAX_STEPS = 20
UNROLL_MAX_STEPS = int(os.environ.get("JAXROBUST_UNROLL_MAX_STEPS", DEFAULT_UNROLL_MAX_STEPS))


def step_loop(steps: int, body, init):
  """`jax.lax.fori_loop(0, steps, body, init)`, fully unrolled when steps <=
  UNROLL_MAX_STEPS: the attack loops' one loop primitive.

  Why: in a loop body, XLA:CPU leaves the input-gradient convolution's kernel
  reversed but untransposed (HLO dim_labels 01oi) and runs it in its slow generic
  conv emitter; a straight-line program gets the transposed kernel (01io) and
  the fast library conv. PGD-10 on a small CNN, batch 256: 1.6-2x faster
  unrolled, at the limit of 10 forward+backward passes (bench/attacks.py);
  partial unrolling (unroll=2, 5) keeps the loop and the slow conv. Compile
  time grows with the unrolled length, hence the bound (the iterative attacks
  of a few tens of steps; APGD / FAB / CW budgets of 50-100 stay rolled).
  """
  return jax.lax.fori_loop(0, steps, body, init, unroll=bool(steps <= UNROLL_MAX_STEPS))


def input_gradient(logits_fn: LogitsFn, loss_fn, x: jax.Array, y: jax.Array) -> jax.Array:
  """d sum_i loss(logits_fn(x)_i, y_i) / dx: per-example gradients, as examples don't interact."""
  return jax.grad(lambda z: jnp.sum(loss_fn(logits_fn(z), y)))(x)
