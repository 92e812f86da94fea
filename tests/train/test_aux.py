"""Values leave traced code by return value: no tracer escapes a vmap/scan/cond inside a defense."""

import chex
import jax
import jax.numpy as jnp
import optax
import pytest

from experiments.configs import tiny
from jaxrobust import data, defenses, train
from jaxrobust.losses import cross_entropy
from jaxrobust.train._aux import with_last_aux


def _fn(z):
  return 2.0 * z, {"seen": z.sum()}


def test_with_last_aux_keeps_the_last_top_level_call_only():
  def body(fn):
    a = fn(jnp.ones(3))
    b = fn(jnp.full(3, 5.0))  # the last top-level call
    c = jax.vmap(fn)(jnp.full((2, 3), 7.0))
    d = jax.lax.scan(lambda carry, z: (carry + fn(z).sum(), None), 0.0, jnp.ones((2, 3)))[0]
    e = jax.lax.cond(True, fn, lambda z: z, jnp.ones(3))
    return a.sum() + b.sum() + c.sum() + d + e.sum()

  for run in (lambda: with_last_aux(body, _fn), jax.jit(lambda: with_last_aux(body, _fn))):
    out, aux = run()
    assert float(out) == 2 * 3 + 30 + 84 + 12 + 6
    assert float(aux["seen"]) == 15.0  # b's, not the inner calls' (which would be tracers)
  assert with_last_aux(lambda fn: jax.vmap(fn)(jnp.ones((2, 3))), _fn)[1] is None


class _VmapThenTopLevel:
  """Calls train_logits_fn per example under vmap (statistics of an inner trace), then at the top level."""

  def __call__(self, train_logits_fn, eval_logits_fn, x, y, *, key):
    per_example = jax.vmap(lambda z: train_logits_fn(z[None])[0])(x)
    logits = train_logits_fn(x)
    return cross_entropy(logits, y) + 0.0 * per_example.sum(-1), {}


class _VmapOnly:
  def __call__(self, train_logits_fn, eval_logits_fn, x, y, *, key):
    return cross_entropy(jax.vmap(lambda z: train_logits_fn(z[None])[0])(x), y), {}


def test_train_step_keeps_top_level_batchnorm_statistics_and_refuses_inner_only_calls():
  config = tiny.get_config()
  config.model.batchnorm = True
  ds, tx = data.load("digits", "train"), optax.sgd(0.1)
  model = train.build_model(config, ds.info)
  state = train.init_state(model, tx, ds.info.input_shape, jax.random.key(0))
  batch, key = (ds.images[:16], ds.labels[:16]), jax.random.key(1)
  reference, _ = jax.jit(train.make_train_step(model, defenses.Standard(), tx))(state, batch, key)
  result, _ = jax.jit(train.make_train_step(model, _VmapThenTopLevel(), tx))(state, batch, key)
  chex.assert_trees_all_equal(result.model_state, reference.model_state)
  # The closure-dict step leaked the vmapped call's tracer here (UnexpectedTracerError).
  with pytest.raises(ValueError, match="top level"):
    jax.jit(train.make_train_step(model, _VmapOnly(), tx))(state, batch, key)
