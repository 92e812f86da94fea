"""Training objectives: hand-checked values, gradients and config errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import defenses
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
  pgd_at = defenses.PGDAT(eps=0.0, step_size=0.1, steps=3)
  loss, _ = pgd_at(_logits_fn(W), _logits_fn(W), x, y, key=jax.random.key(0))
  np.testing.assert_allclose(loss, cross_entropy(_logits_fn(W)(x), y), rtol=1e-6)


def test_pgd_at_loss_exceeds_clean_loss_and_its_gradient_is_taken_at_fixed_x_adv():
  x, y = _batch()
  pgd_at = defenses.PGDAT(eps=0.1, step_size=0.03, steps=5)
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
  assert isinstance(defenses.create("pgd_at", eps=0.1, steps=3), defenses.PGDAT)
  assert isinstance(defenses.create("standard"), defenses.Standard)
  with pytest.raises(ValueError, match="valid choices.*pgd_at"):
    defenses.create("pgd")
  with pytest.raises(ValueError, match="valid options.*eps"):
    defenses.create("pgd_at", epsilon=0.1)
  with pytest.raises(ValueError, match="eps must be"):
    defenses.create("pgd_at", eps=-0.1)
  with pytest.raises(ValueError, match="steps"):
    defenses.create("pgd_at", steps=0)


def test_from_config_ignores_options_of_other_defenses_but_not_typos():
  config = {"name": "standard", "eps": 0.3, "steps": 10}  # a pgd_at config switched by flag
  assert isinstance(defenses.from_config(config), defenses.Standard)
  built = defenses.from_config({"name": "pgd_at", "eps": 0.2, "steps": 3})
  assert built.eps == 0.2 and built.steps == 3
  with pytest.raises(ValueError, match="Unknown defense option.*epsilon"):
    defenses.from_config({"name": "pgd_at", "epsilon": 0.2})
  with pytest.raises(ValueError, match="valid choices"):
    defenses.from_config({"name": "trade"})
