"""Every registered defense trains one step from the binary's config path
(experiments/configs/tiny.py:<name>), with BatchNorm so
that the recorded-statistics path is exercised (certified training: without); AWP's hook and the Absum prox.

Compiling a train step dominates the cost (~5 s each on CPU, whatever the
batch or model size), so each defense's step is compiled once, with the
defense as a traced argument (AWP at two more gammas and PGD-AT reuse the
programs of the parametrized test), and at XLA's backend optimization level 0,
which halves compile time and changes no result these tests check."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import tiny
from jaxrobust import data, train
from jaxrobust.defenses.absum import absum_penalty
from jaxrobust.defenses.registry import DEFENSES
from jaxrobust.train import loop

_DS = data.load("digits", "train")  # 8x8: the cheapest real images
_BATCH = (_DS.images[:8], _DS.labels[:8])
_FAST_COMPILE = {"xla_backend_optimization_level": 0}


def _config(name):
  config = tiny.get_config(name)
  config.dataset = "digits"
  config.model.features = (4,)
  config.model.hidden = 8
  # Certified training bounds models without BatchNorm (it refuses them).
  config.model.batchnorm = name not in ("ibp", "crown_ibp")
  # SGD at a constant rate: a cheaper program than Adam + cosine, and the
  # update is linear in the gradient, so equal steps compare tightly.
  config.optimizer.name = "sgd"
  config.optimizer.schedule = "constant"
  defense = config.defense.get("base", config.defense)  # AWP's attack is its base's
  if "attack" in defense:
    defense.attack.steps = 1
  if name == "fast_at":
    config.defense.co_checkpoints = 2
  if name == "bat":
    config.defense.bridges = 2
  return config


@functools.lru_cache(maxsize=None)
def _compiled(name):
  """(initial state, jitted step(state, batch, key, defense)) for defense `name`."""
  config = _config(name)
  model = train.build_model(config, _DS.info)
  tx = train.make_optimizer(config.optimizer, 10)
  state = train.init_state(model, tx, _DS.info.input_shape, jax.random.key(0))
  step = jax.jit(lambda s, batch, key, defense: train.make_train_step(model, defense, tx)(
      s, batch, key), compiler_options=_FAST_COMPILE)
  return state, step


def _step(name, **options):
  """One step of defense `name` from its config (+ numeric `options`)."""
  defense = DEFENSES.from_config(_config(name).defense.to_dict()).replace(**options)
  state, step = _compiled(name)
  return state, step(state, _BATCH, jax.random.key(1), defense)


@pytest.mark.parametrize("name", sorted(DEFENSES))
def test_every_defense_trains_one_step_from_the_config(name):
  before, (after, metrics) = _step(name)
  assert int(after.step) == 1 and np.isfinite(float(metrics["loss"]))
  moved = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), before.params, after.params)
  assert max(jax.tree.leaves(moved)) > 0
  jax.tree.map(lambda leaf: np.testing.assert_(np.all(np.isfinite(leaf))), after.model_state)


def test_awp_with_zero_gamma_takes_the_pgd_at_step_and_gamma_changes_it():
  _, (awp0, _) = _step("awp", gamma=0.0)
  _, (pgd, _) = _step("pgd_at")
  _, (awp1, _) = _step("awp", gamma=0.5)
  assert _compiled("awp")[1]._cache_size() == 1  # gamma is data: one program
  for a, b in zip(jax.tree.leaves(awp0.params), jax.tree.leaves(pgd.params)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
  assert max(float(jnp.abs(a - b).max()) for a, b in zip(
      jax.tree.leaves(awp1.params), jax.tree.leaves(pgd.params))) > 1e-6


def test_absum_prox_runs_after_the_update():
  config = _config("standard")
  config.regularizer.absum = 1e3  # threshold lr * lambda above every filter mean
  model = train.build_model(config, _DS.info)
  tx = train.make_optimizer(config.optimizer, 10)
  state = train.init_state(model, tx, _DS.info.input_shape, jax.random.key(0))
  step = jax.jit(train.make_train_step(model, DEFENSES.from_config(config.defense.to_dict()),
                                       tx, prox=loop.build_prox(config, 10)),
                 compiler_options=_FAST_COMPILE)
  after, _ = step(state, _BATCH, jax.random.key(1))
  np.testing.assert_allclose(absum_penalty(after.params), 0.0, atol=1e-4)
