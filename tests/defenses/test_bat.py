"""Bridged AT as its authors run it: PGD on cross-entropy by default, and one
training-mode forward pass per bridge point (BatchNorm statistics per point)."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import optax

from experiments.configs import default, tiny
from jaxrobust import data, defenses, train
from jaxrobust.attacks import PGD, TPGD
from jaxrobust.defenses.bat import BAT
from jaxrobust.defenses.trades import TRADES
from jaxrobust.losses import cross_entropy, kl_divergence


def test_default_inner_attack_is_pgd_on_cross_entropy_in_class_and_config():
  assert BAT().attack == PGD(eps=0.3, step_size=0.01, steps=10, loss="ce", random_start=True)
  section = default.get_config("bat").defense
  assert section.attack.name == "pgd"
  assert isinstance(defenses.DEFENSES.from_config(section).attack, PGD)
  # TRADES keeps its own KL attack; BAT can still be given it.
  assert isinstance(TRADES().attack, TPGD)
  assert isinstance(BAT(attack=TPGD(eps=0.1)).attack, TPGD)


def _bn_problem():
  config = tiny.get_config()
  config.model.batchnorm = True
  ds = data.load("digits", "train")
  model = train.build_model(config, ds.info)
  variables = model.init(jax.random.key(0), jnp.zeros((1,) + ds.info.input_shape), train=False)
  x = data.to_float(ds.images[:16])
  y = jnp.asarray(ds.labels[:16])
  # Two steps of sign noise: a perturbation whose bridge points differ in their statistics.
  x_adv = jnp.clip(x + 0.3 * jnp.sign(jax.random.normal(jax.random.key(1), x.shape)), 0, 1)
  return model, variables, x, x_adv, y


def _by_hand(logits_at, x, x_adv, y, m, beta):
  logits = [logits_at(x + (k / m) * (x_adv - x)) for k in range(m + 1)]
  kl = sum(kl_divergence(logits[k - 1], logits[k]) for k in range(1, m + 1))
  return cross_entropy(logits[0], y) + beta * kl


def test_with_batchnorm_each_bridge_point_is_its_own_forward_pass():
  model, variables, x, x_adv, y = _bn_problem()
  train_logits = jax.jit(
      lambda z: model.apply(variables, z, train=True, mutable=["batch_stats"])[0])
  m, beta = 3, 6.0
  loss, _ = BAT(beta=beta, bridges=m).loss_at(train_logits, x, x_adv, y)
  np.testing.assert_allclose(loss, _by_hand(train_logits, x, x_adv, y, m, beta), rtol=1e-5)
  # The former one-batch version normalised every point by the union's statistics: not the same.
  ts = jnp.arange(m + 1, dtype=x.dtype) / m
  union = train_logits((x[None] + ts[:, None, None, None, None] * (x_adv - x)[None])
                       .reshape((-1,) + x.shape[1:])).reshape(m + 1, len(x), -1)
  union_loss = cross_entropy(union[0], y) + beta * sum(
      kl_divergence(union[k - 1], union[k]) for k in range(1, m + 1))
  assert float(jnp.abs(loss - union_loss).max()) > 1e-3


def test_without_batchnorm_separate_passes_equal_one_batched_pass():
  config = tiny.get_config()
  ds = data.load("digits", "train")
  model = train.build_model(config, ds.info)
  variables = model.init(jax.random.key(0), jnp.zeros((1,) + ds.info.input_shape), train=False)
  logits_fn = jax.jit(lambda z: model.apply(variables, z, train=True))
  _, _, x, x_adv, y = _bn_problem()
  m = 4
  loss, _ = BAT(bridges=m).loss_at(logits_fn, x, x_adv, y)
  ts = jnp.arange(m + 1, dtype=x.dtype) / m
  batched = logits_fn((x[None] + ts[:, None, None, None, None] * (x_adv - x)[None])
                      .reshape((-1,) + x.shape[1:])).reshape(m + 1, len(x), -1)
  expected = cross_entropy(batched[0], y) + 6.0 * sum(
      kl_divergence(batched[k - 1], batched[k]) for k in range(1, m + 1))
  np.testing.assert_allclose(loss, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_train_step_keeps_the_clean_pass_statistics_so_one_bridge_is_trades():
  config = tiny.get_config()
  config.model.batchnorm = True
  ds, tx = data.load("digits", "train"), optax.sgd(0.1)
  model = train.build_model(config, ds.info)
  state = train.init_state(model, tx, ds.info.input_shape, jax.random.key(0))
  batch, key = (ds.images[:16], ds.labels[:16]), jax.random.key(1)
  attack = PGD(eps=0.2, step_size=0.05, steps=3)
  step = lambda d: jax.jit(train.make_train_step(model, d, tx))(state, batch, key)
  bat, bat_metrics = step(BAT(attack=attack, bridges=1))
  trades, trades_metrics = step(TRADES(attack=attack))
  chex.assert_trees_all_close(bat.model_state, trades.model_state, rtol=1e-6)
  chex.assert_trees_all_close(bat.params, trades.params, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(bat_metrics["loss"], trades_metrics["loss"], rtol=1e-6)
  # The statistics kept are the clean batch's: those of standard training on it.
  standard, _ = jax.jit(train.make_train_step(model, defenses.Standard(), tx))(state, batch, key)
  chex.assert_trees_all_close(bat.model_state, standard.model_state, rtol=1e-6)
  five, _ = step(BAT(attack=attack, bridges=5))
  chex.assert_trees_all_close(five.model_state, standard.model_state, rtol=1e-6)
