"""Every registered defense trains one step from the binary's config path
(experiments/configs/tiny.py + --config.defense.name=...), with BatchNorm so
that the recorded-statistics path is exercised; AWP's hook and the Absum prox."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from experiments.configs import tiny
from jaxrobust import data, defenses, train
from jaxrobust.defenses.absum import absum_penalty
from jaxrobust.defenses.registry import DEFENSES
from jaxrobust.train import loop

_DS = data.load("digits", "train")  # 8x8: the cheapest real images
_BATCH = (_DS.images[:16], _DS.labels[:16])


def _config(name):
  config = tiny.get_config()
  config.dataset = "digits"
  config.model.features = (4,)
  config.model.hidden = 8
  config.model.batchnorm = True
  with config.unlocked():  # fast AT's fields live in fast_at_co.py, not tiny.py
    config.defense.co_checkpoints = 2
  config.defense.name = name
  config.defense.steps = 1
  config.defense.bridges = 2
  return config


def _step(config, defense=None, **kwargs):
  model = train.build_model(config, _DS.info)
  defense = defense or defenses.from_config(config.defense.to_dict())
  tx = train.make_optimizer(config.optimizer, 10)
  state = train.init_state(model, tx, _DS.info.input_shape, jax.random.key(0))
  step = jax.jit(train.make_train_step(model, defense, tx, **kwargs))
  return state, step(state, _BATCH, jax.random.key(1))


@pytest.mark.parametrize("name", sorted(DEFENSES))
def test_every_defense_trains_one_step_from_the_config(name):
  before, (after, metrics) = _step(_config(name))
  assert int(after.step) == 1 and np.isfinite(float(metrics["loss"]))
  moved = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), before.params, after.params)
  assert max(jax.tree.leaves(moved)) > 0
  jax.tree.map(lambda leaf: np.testing.assert_(np.all(np.isfinite(leaf))), after.model_state)


def test_awp_with_zero_gamma_takes_the_pgd_at_step_and_gamma_changes_it():
  config = _config("awp")
  config.model.batchnorm = False
  config.optimizer.name = "sgd"
  make = lambda gamma: defenses.create("awp", eps=0.1, step_size=0.05, steps=1, gamma=gamma)
  _, (awp0, _) = _step(config, make(0.0))
  _, (pgd, _) = _step(config, defenses.create("pgd_at", eps=0.1, step_size=0.05, steps=1))
  _, (awp1, _) = _step(config, make(0.5))
  for a, b in zip(jax.tree.leaves(awp0.params), jax.tree.leaves(pgd.params)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
  assert max(float(jnp.abs(a - b).max()) for a, b in zip(
      jax.tree.leaves(awp1.params), jax.tree.leaves(pgd.params))) > 1e-6


def test_absum_prox_runs_after_the_update():
  config = _config("standard")
  config.optimizer.name = "sgd"
  config.optimizer.schedule = "constant"
  config.regularizer.absum = 1e3  # threshold lr * lambda above every filter mean
  _, (after, _) = _step(config, prox=loop.build_prox(config, 10))
  np.testing.assert_allclose(absum_penalty(after.params), 0.0, atol=1e-4)
