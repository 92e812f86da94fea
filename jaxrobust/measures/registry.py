"""Measure families by name, and `compute` / `compute_population`: prepare the
inputs once, run the named families, return one flat dict of scalars."""

from __future__ import annotations

import zlib
from typing import Any, Mapping, Sequence

import jax
import numpy as np

from jaxrobust import _checks
from jaxrobust.measures import flatness, margin, norm, smoothness
from jaxrobust.measures.inputs import ApplyFn, prepare
from jaxrobust.registry import Registry

MEASURES = Registry("measure")
MEASURES.register("norm", norm.norm)
MEASURES.register("margin", margin.margin)
MEASURES.register("input_margin", margin.input_margin)
MEASURES.register("loss", smoothness.loss)
MEASURES.register("local_lipschitz", smoothness.local_lipschitz)
MEASURES.register("input_gradient", smoothness.input_gradient_norm)
MEASURES.register("boundary_thickness", smoothness.boundary_thickness)
MEASURES.register("pacbayes", flatness.pacbayes, magnitude=False)
MEASURES.register("pacbayes_mag", flatness.pacbayes, magnitude=True)
MEASURES.register("sharpness", flatness.sharpness)
MEASURES.register("average_flatness", flatness.average_flatness)
MEASURES.register("hessian", flatness.hessian)

# Families cheap enough for a population of small models on a CPU in minutes.
DEFAULT = ("norm", "margin", "loss", "local_lipschitz", "input_gradient",
           "boundary_thickness", "pacbayes", "pacbayes_mag", "sharpness",
           "average_flatness", "hessian")


def _tag(name: str) -> int:
  """A stable fold_in tag per family, so its randomness does not depend on the order."""
  return zlib.crc32(name.encode()) & 0x7FFFFFFF


def compute(names: Sequence[str], apply_fn: ApplyFn, params: Any, params_init: Any,
            x: jax.Array, y: jax.Array, *, key: jax.Array, attack=None,
            options: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, jax.Array]:
  """Every measure of the named families for one model, {measure: scalar}.

  Pure: jit it, or vmap it over stacked params / params_init / key (a population).
  Arguments as `inputs.prepare`; options: {family: {option: value}}.
  """
  families = MEASURES.make_all(names, options)
  inputs = prepare(apply_fn, params, params_init, x, y, key=key, attack=attack)
  out: dict[str, jax.Array] = {}
  for name, family in families.items():
    values = family(inputs.replace(key=jax.random.fold_in(inputs.key, _tag(name))))
    clash = set(values) & set(out)
    if clash:
      raise ValueError(f"family {name!r} repeats measures {sorted(clash)}.")
    out.update(values)
  return out


def compute_population(names: Sequence[str], apply_fn: ApplyFn, params: Any,
                       params_init: Any, x: jax.Array, y: jax.Array, *, key: jax.Array,
                       attack=None, options=None, chunk: int | None = None,
                       model_state: Any = None) -> dict[str, np.ndarray]:
  """`compute` for a population: params and params_init stacked on a leading axis
  [n, ...]; member i gets key fold_in(key, i). Runs `chunk` members per compiled call
  (default: all at once) and returns {measure: numpy [n]}.

  model_state: the members' non-trained variables (e.g. BatchNorm statistics),
  stacked like params, or None; when given, apply_fn is (params, x, model_state) ->
  logits and the measures see member i's state fixed (weights move, statistics not).
  """
  sizes = {leaf.shape[0] if leaf.ndim else None for leaf in jax.tree.leaves(params)}
  if len(sizes) != 1 or None in sizes:
    raise ValueError(f"params must be a population stacked on a leading axis of one "
                     f"size; got leading sizes {sorted(map(str, sizes))}.")
  n = sizes.pop()
  if n < 1:
    raise ValueError("the population is empty (leading axis of size 0).")
  init_sizes = {leaf.shape[0] if leaf.ndim else None for leaf in jax.tree.leaves(params_init)}
  if init_sizes != {n}:
    raise ValueError(f"params_init must be stacked like params ({n} members), got "
                     f"leading sizes {sorted(map(str, init_sizes))}.")
  chunk = n if chunk is None else chunk
  _checks.check_int_at_least("chunk", chunk, 1)
  # Checked here on the host: inside the compiled vmap the params are traced.
  _checks.check_finite_tree("params", params)
  _checks.check_finite_tree("params_init", params_init)
  MEASURES.make_all(names, options)  # bad names and options fail before compiling
  def one(p, p0, state, k):
    fn = apply_fn if model_state is None else (lambda q, z: apply_fn(q, z, state))
    return compute(names, fn, p, p0, x, y, key=k, attack=attack, options=options)

  run = jax.jit(jax.vmap(one))
  keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(np.arange(n))
  parts = []
  for start in range(0, n, chunk):
    stop = min(start + chunk, n)
    take = lambda t: jax.tree.map(lambda leaf: leaf[start:stop], t)
    piece = take(params), take(params_init), take(model_state), keys[start:stop]
    if stop - start < chunk:  # pad the last chunk: one compiled shape
      pad = chunk - (stop - start)
      piece = jax.tree.map(lambda leaf: jax.numpy.concatenate(
          [leaf, jax.numpy.repeat(leaf[-1:], pad, 0)]), piece)
    values = run(*piece)
    parts.append({k: np.asarray(v)[:stop - start] for k, v in values.items()})
  return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
