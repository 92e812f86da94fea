"""Differentially private optax transforms: DP-SGD's privatisation and DP-SAT.

Both take the clipped per-example gradient SUM (see
`jaxrobust.privacy.clipping.clipped_grad_sum`) and return the privatised mean

    g = (sum_i clip(g_i) + N(0, (noise_multiplier * l2_clip)^2 I)) / expected_batch_size,

normalised by the expected Poisson batch size q * N (never the realised one).
Chain them before any optax optimizer: `optax.chain(dp_sgd(...), optax.sgd(lr))`.

The clipped sum comes either as `updates` or, as in `optax.contrib.sam`'s
opaque mode, from a `grad_fn(params) -> clipped sum` extra argument (then
`updates` is ignored and may be None). DP-SAT needs `grad_fn`: it evaluates the
clipped sum at perturbed weights. Noise keys are `fold_in(key, count)`, so the
state is only integers and arrays (checkpointable) and a resumed run draws
the same noise.

References:
  Abadi et al., "Deep Learning with Differential Privacy", CCS 2016.
  Park, Kim, Choi, Lee, "Differentially Private Sharpness-Aware Training",
  ICML 2023.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxrobust import _checks


class DPSGDState(NamedTuple):
  """count: int32 scalar, number of privatised steps (indexes the noise key)."""
  count: jax.Array


class DPSATState(NamedTuple):
  """count: int32 steps; prev_grad: the previous step's privatised gradient."""
  count: jax.Array
  prev_grad: Any


def _check(l2_clip, noise_multiplier, expected_batch_size) -> None:
  """Python numbers and concrete jax scalars alike (traced values: see `_checks`)."""
  _checks.check_number("l2_clip", l2_clip, low=0, low_open=True)
  _checks.check_number("noise_multiplier", noise_multiplier, low=0)
  _checks.check_number("expected_batch_size", expected_batch_size, low=0, low_open=True)


def privatize(clipped_sum: Any, key: jax.Array, l2_clip, noise_multiplier,
              expected_batch_size) -> Any:
  """(clipped_sum + N(0, (sigma C)^2 I)) / expected_batch_size, leaf by leaf."""
  _check(l2_clip, noise_multiplier, expected_batch_size)
  leaves, treedef = jax.tree.flatten(clipped_sum)
  keys = jax.random.split(key, len(leaves))
  std = noise_multiplier * l2_clip
  noisy = [(g + std * jax.random.normal(k, g.shape, g.dtype)) / expected_batch_size
           for g, k in zip(leaves, keys)]
  return jax.tree.unflatten(treedef, noisy)


def _clipped_sum(updates, params, grad_fn):
  if grad_fn is not None:
    if params is None:
      raise ValueError("grad_fn needs params.")
    return grad_fn(params)
  if updates is None:
    raise ValueError("Pass the clipped gradient sum as updates, or grad_fn.")
  return updates


def dp_sgd(l2_clip: float, noise_multiplier: float, expected_batch_size: float,
           key: jax.Array) -> optax.GradientTransformationExtraArgs:
  """DP-SGD's Gaussian mechanism on a clipped gradient sum.

  Args:
    l2_clip: per-example clipping norm C (the sum's sensitivity), > 0.
    noise_multiplier: sigma >= 0; the noise std is sigma * C.
    expected_batch_size: q * N, the divisor of the noisy sum.
    key: PRNG key; step t uses fold_in(key, t).

  update(updates, state, params=None, *, grad_fn=None) -> (noisy mean, state).
  """
  _check(l2_clip, noise_multiplier, expected_batch_size)

  def init_fn(params):
    del params
    return DPSGDState(count=jnp.zeros((), jnp.int32))

  def update_fn(updates, state, params=None, *, grad_fn: Callable | None = None,
                **extra_args):
    del extra_args
    clipped = _clipped_sum(updates, params, grad_fn)
    noisy = privatize(clipped, jax.random.fold_in(key, state.count), l2_clip,
                      noise_multiplier, expected_batch_size)
    return noisy, DPSGDState(count=state.count + 1)

  return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def dp_sat(rho: float, l2_clip: float, noise_multiplier: float,
           expected_batch_size: float, key: jax.Array
           ) -> optax.GradientTransformationExtraArgs:
  """DP-SAT: the privatised clipped gradient at w + rho * g_prev / ||g_prev||.

  g_prev is the previous step's privatised gradient (already public, so the
  perturbation costs no privacy); the first step (g_prev = 0) is plain DP-SGD.
  With rho = 0 every step equals `dp_sgd`'s with the same key, bit for bit.

  Args:
    rho: perturbation radius >= 0.
    l2_clip, noise_multiplier, expected_batch_size, key: as in `dp_sgd`.

  update(updates, state, params, *, grad_fn) -> (noisy mean, state), where
  grad_fn(params) returns the clipped per-example gradient sum at params.
  """
  _check(l2_clip, noise_multiplier, expected_batch_size)
  _checks.check_number("rho", rho, low=0)

  def init_fn(params):
    return DPSATState(count=jnp.zeros((), jnp.int32),
                      prev_grad=jax.tree.map(jnp.zeros_like, params))

  def update_fn(updates, state, params=None, *, grad_fn: Callable | None = None,
                **extra_args):
    del updates, extra_args
    if grad_fn is None or params is None:
      raise ValueError("dp_sat needs params and grad_fn(params) -> clipped gradient sum.")
    norm = optax.tree.norm(state.prev_grad)
    scale = jnp.where(norm > 0, rho / jnp.where(norm > 0, norm, 1.0), 0.0)
    perturbed = jax.tree.map(lambda w, g: w + (scale * g).astype(w.dtype),
                             params, state.prev_grad)
    noisy = privatize(grad_fn(perturbed), jax.random.fold_in(key, state.count),
                      l2_clip, noise_multiplier, expected_batch_size)
    return noisy, DPSATState(count=state.count + 1, prev_grad=noisy)

  return optax.GradientTransformationExtraArgs(init_fn, update_fn)
