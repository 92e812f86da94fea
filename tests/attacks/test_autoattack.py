"""AutoAttack's versions list the reference's attacks and budgets; the rand version uses EOT."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust.attacks.apgd import APGD, APGDT
from jaxrobust.attacks.autoattack import AutoAttack
from jaxrobust.attacks.fab import FAB, FABT
from jaxrobust.attacks.square import Square


def test_standard_linf_is_the_reference_ensemble():
  c = AutoAttack(eps=0.1).components()
  assert list(c) == ["apgd-ce", "apgd-t", "fab-t", "square"]
  assert isinstance(c["apgd-ce"], APGD) and c["apgd-ce"].loss == "ce"
  assert (c["apgd-ce"].steps, c["apgd-ce"].n_restarts) == (100, 1)
  assert isinstance(c["apgd-t"], APGDT) and c["apgd-t"].n_target_classes == 9
  assert isinstance(c["fab-t"], FABT) and (c["fab-t"].steps, c["fab-t"].n_target_classes) == (100, 9)
  assert isinstance(c["square"], Square) and (c["square"].n_queries, c["square"].p_init) == (5000, 0.8)
  assert all(float(a.eps) == pytest.approx(0.1) for a in c.values())


def test_plus_and_rand_versions():
  plus = AutoAttack(eps=0.5, norm="l2", version="plus").components()
  assert list(plus) == ["apgd-ce", "apgd-dlr", "fab", "square", "apgd-t", "fab-t"]
  assert plus["apgd-ce"].n_restarts == plus["apgd-dlr"].n_restarts == 5
  assert type(plus["fab"]) is FAB and plus["fab"].n_restarts == 5
  assert all(a.norm == "l2" for a in plus.values())
  rand = AutoAttack(eps=0.1, version="rand").components()
  assert list(rand) == ["apgd-ce", "apgd-dlr"]
  assert all(a.eot_iter == 20 and a.n_restarts == 1 for a in rand.values())


def test_l1_version_uses_large_radii_first():
  c = AutoAttack(eps=10.0, norm="l1").components()
  assert list(c) == ["apgd-ce", "apgd-t", "fab-t"]
  assert c["apgd-ce"].use_largereps and c["apgd-t"].use_largereps
  assert (c["apgd-ce"].n_restarts, c["apgd-t"].n_target_classes) == (5, 5)
  assert c["fab-t"].norm == "l1"


def test_rand_version_attacks_a_randomized_model():
  w = jax.random.normal(jax.random.key(0), (12, 3))
  x = jax.random.uniform(jax.random.key(1), (16, 12), minval=0.3, maxval=0.7)
  y = jnp.argmax(x @ w, -1)
  noisy = lambda z, key: z @ w + 0.01 * jax.random.normal(key, (z.shape[0], 3))
  attack = AutoAttack(eps=0.2, version="rand", steps=10, eot_iter=4)
  x_adv = jax.jit(lambda x, y, k: attack(noisy, x, y, key=k))(x, y, jax.random.key(2))
  assert float(jnp.abs(x_adv - x).max()) <= 0.2 + 1e-6
  assert np.mean(np.argmax(x_adv @ w, -1) == np.asarray(y)) < 0.5


def test_bad_options():
  with pytest.raises(ValueError, match="version"):
    AutoAttack(version="fast")
  with pytest.raises(ValueError, match="norm"):
    AutoAttack(norm="l3")
  with pytest.raises(ValueError, match="eot_iter"):
    AutoAttack(version="rand", eot_iter=1)
  with pytest.raises(ValueError, match="key"):
    AutoAttack(eps=0.1, steps=2)(lambda z: z, jnp.zeros((2, 3)), jnp.zeros((2,), jnp.int32))


def test_worst_case_on_a_trained_model(mnist_model):
  """Tiny budgets, jitted: inside the ball and box, and at least as strong as its first component."""
  logits_fn, x, y, _ = mnist_model
  x, y = x[:100], y[:100]
  attack = AutoAttack(eps=0.1, steps=5, n_queries=20, n_target_classes=2)
  run = jax.jit(lambda a, x, y, k: a(logits_fn, x, y, key=k))
  x_adv = run(attack, x, y, jax.random.key(0))
  assert float(jnp.abs(x_adv - x).max()) <= 0.1 + 1e-6
  assert float(x_adv.min()) >= 0.0 and float(x_adv.max()) <= 1.0
  accuracy = lambda z: float(jnp.mean(logits_fn(z).argmax(-1) == y))
  first = attack.components()["apgd-ce"]
  first_key = jax.random.split(jax.random.fold_in(jax.random.key(0), 0))[0]  # as __call__
  assert accuracy(x_adv) <= accuracy(run(first, x, y, first_key))
  assert accuracy(x_adv) < accuracy(x) - 0.3
