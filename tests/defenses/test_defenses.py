"""Training objectives: hand-checked values, gradients and config errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import attacks, defenses
from jaxrobust.losses import cross_entropy

W = jax.random.normal(jax.random.key(0), (12, 4))


def _logits_fn(w):
  return lambda x: x.reshape(x.shape[0], -1) @ w


def _batch():
  x = jax.random.uniform(jax.random.key(1), (8, 2, 2, 3))
  y = jnp.arange(8) % 4
  return x, y


def test_standard_is_clean_cross_entropy():
  x, y = _batch()
  loss, metrics = defenses.Standard()(_logits_fn(W), _logits_fn(W), x, y, key=jax.random.key(0))
  np.testing.assert_allclose(loss, cross_entropy(_logits_fn(W)(x), y), rtol=1e-6)
  np.testing.assert_allclose(metrics["accuracy"], _logits_fn(W)(x).argmax(-1) == y)


def test_pgd_at_with_zero_eps_is_standard_training():
  x, y = _batch()
  pgd_at = defenses.PGDAT(attack=attacks.PGD(eps=0.0, step_size=0.1, steps=3))
  loss, _ = pgd_at(_logits_fn(W), _logits_fn(W), x, y, key=jax.random.key(0))
  np.testing.assert_allclose(loss, cross_entropy(_logits_fn(W)(x), y), rtol=1e-6)


def test_pgd_at_loss_exceeds_clean_loss_and_its_gradient_is_taken_at_fixed_x_adv():
  x, y = _batch()
  pgd_at = defenses.PGDAT(attack=attacks.PGD(eps=0.1, step_size=0.03, steps=5))
  key = jax.random.key(0)
  adv_loss, _ = pgd_at(_logits_fn(W), _logits_fn(W), x, y, key=key)
  assert np.all(adv_loss >= cross_entropy(_logits_fn(W)(x), y) - 1e-6)
  assert float(adv_loss.mean()) > float(cross_entropy(_logits_fn(W)(x), y).mean()) + 0.05

  # Danskin: the weight gradient equals that of CE at the (fixed) attack point.
  def objective(w):
    loss, _ = pgd_at(_logits_fn(w), _logits_fn(jax.lax.stop_gradient(w)), x, y, key=key)
    return loss.mean()
  x_adv = pgd_at.attack(_logits_fn(W), x, y, key=key)
  expected = jax.grad(lambda w: cross_entropy(_logits_fn(w)(x_adv), y).mean())(W)
  np.testing.assert_allclose(jax.grad(objective)(W), expected, rtol=1e-5, atol=1e-6)


def test_registry_builds_by_name_and_rejects_bad_config():
  pgd = attacks.PGD(eps=0.1, step_size=0.025, steps=3)
  assert defenses.DEFENSES.make("pgd_at", attack=pgd) == defenses.PGDAT(attack=pgd)
  assert isinstance(defenses.DEFENSES.make("standard"), defenses.Standard)
  with pytest.raises(ValueError, match="valid choices.*pgd_at"):
    defenses.DEFENSES.make("pgd")
  with pytest.raises(ValueError, match="valid options.*attack"):
    defenses.DEFENSES.make("pgd_at", epsilon=0.1)
  with pytest.raises(ValueError, match="PGDAT.attack: eps must be"):
    defenses.DEFENSES.make("pgd_at", attack=attacks.PGD(eps=-0.1))  # at construction
  with pytest.raises(ValueError, match="steps"):
    defenses.DEFENSES.make("pgd_at", attack=attacks.PGD(steps=0))
  with pytest.raises(TypeError, match="PGDAT needs an attack"):
    defenses.PGDAT(attack=None)


def test_from_config_rejects_options_of_other_defenses_naming_the_valid_ones():
  attack = {"name": "pgd", "eps": 0.1, "step_size": 0.025, "steps": 10}
  # `--config.defense.name=pgd_at --config.defense.beta=3` on a TRADES section:
  with pytest.raises(ValueError, match=r"\['beta'\] for defense 'pgd_at'.*valid options: "
                     r"\('attack',\)"):
    defenses.DEFENSES.from_config({"name": "pgd_at", "attack": attack, "beta": 3.0})
  with pytest.raises(ValueError, match=r"\['attack'\] for defense 'standard'.*\(\)"):
    defenses.DEFENSES.from_config({"name": "standard", "attack": attack})
  with pytest.raises(ValueError, match="for defense 'trades'.*'attack', 'beta'"):
    defenses.DEFENSES.from_config({"name": "trades", "attack": attack, "bridges": 2})
  with pytest.raises(ValueError, match="for attack 'pgd'.*valid options"):
    defenses.DEFENSES.from_config({"name": "pgd_at", "attack": {**attack, "beta": 3.0}})
  with pytest.raises(ValueError, match="PGDAT.attack: eps must be"):
    defenses.DEFENSES.from_config({"name": "pgd_at", "attack": {**attack, "eps": -0.1}})
  with pytest.raises(ValueError, match="valid choices"):
    defenses.DEFENSES.from_config({"name": "trade"})


def test_a_nested_attack_section_builds_that_attack():
  built = defenses.DEFENSES.from_config({"name": "pgd_at", "attack": {
      "name": "pgd", "eps": 0.2, "steps": 4, "norm": "l2"}})
  assert built.attack == attacks.PGD(eps=0.2, step_size=2.5 * 0.2 / 4, steps=4, norm="l2")
  trades = defenses.DEFENSES.from_config({"name": "trades", "beta": 3.0, "attack": {
      "name": "tpgd", "eps": 0.1, "step_size": 0.02, "steps": 3}})
  assert trades == defenses.TRADES(attack=attacks.TPGD(eps=0.1, step_size=0.02, steps=3),
                                   beta=3.0)
  awp = defenses.DEFENSES.from_config({"name": "awp", "gamma": 0.01, "base": {
      "name": "mart", "beta": 5.0, "attack": {"name": "pgd", "eps": 0.1, "steps": 2}}})
  assert awp == defenses.AWP(base=defenses.MART(
      attack=attacks.PGD(eps=0.1, step_size=0.125, steps=2), beta=5.0), gamma=0.01)
  squeeze = defenses.DEFENSES.from_config({"name": "logit_squeeze", "attack": None, "squeeze": 0.1})
  assert squeeze.attack is None and squeeze.squeeze == 0.1
