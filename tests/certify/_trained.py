"""Tiny models trained on sklearn's 8x8 digits for the certify tests (seconds each)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from jaxrobust import data, defenses, models, train

INFO = data.embedded.INFOS["digits"]
SHAPES = {"mlp": {"hidden": (32, 32)}, "small_cnn": {"features": (4, 8), "hidden": 24}}


@functools.lru_cache(maxsize=None)
def digits():
  """(x_train float [1437, 8, 8, 1], y_train, x_test [360, ...], y_test) as jax arrays."""
  tr, te = data.load("digits", "train"), data.load("digits", "test")
  return (data.to_float(tr.images), jnp.asarray(tr.labels),
          data.to_float(te.images), jnp.asarray(te.labels))


def make_model(name: str, **options):
  return models.make(name, num_classes=10, mean=INFO.mean, std=INFO.std,
                       **{**SHAPES.get(name, {}), **options})


@functools.lru_cache(maxsize=None)
def trained(name: str, defense_name: str = "standard", steps: int = 300, **options):
  """(model, variables) trained full-batch with Adam (lr 1e-2) by the library's train
  step; a scheduled defense gets its `at_step` view at every step."""
  model = make_model(name)
  defense = defenses.DEFENSES.make(defense_name, **options)
  tx = optax.adam(1e-2)
  state = train.init_state(model, tx, INFO.input_shape, jax.random.key(0))
  x, y, _, _ = digits()
  images = jnp.round(x * 255).astype(jnp.uint8)

  @jax.jit
  def run(state):
    def body(step, state):
      d = defense.at_step(step) if hasattr(defense, "at_step") else defense
      return train.make_train_step(model, d, tx)(state, (images, y),
                                                  jax.random.key(step))[0]
    return jax.lax.fori_loop(0, steps, body, state)

  return model, train.variables(run(state))
