"""The properties every attack must hold (DESIGN.md), run over every attack.

A new attack is covered by adding one entry to CASES: (attack at radius EPS, norm).
"""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import attacks

EPS = {"linf": 0.1, "l2": 1.5, "l1": 15.0}


def _bound(eps):
  """eps + 1e-6, plus float32 rounding of the norm itself: an L1 norm of 784
  pixels at eps = 15 rounds up to 2 ulps (1.9e-6) above a point exactly on the sphere."""
  return eps * (1 + 1e-6) + 1e-6


CASES = {
    "pgd_linf": (attacks.PGD(eps=EPS["linf"], step_size=0.025, steps=10), "linf"),
    "pgd_l2": (attacks.PGD(eps=EPS["l2"], step_size=0.4, steps=10, norm="l2"), "l2"),
    "pgd_l1": (attacks.PGD(eps=EPS["l1"], step_size=5.0, steps=20, norm="l1"), "l1"),
    "pgd_linf_restarts": (attacks.Restarts(
        attacks.PGD(eps=EPS["linf"], step_size=0.025, steps=10), restarts=2), "linf"),
}


def _with(attack, **changes):
  """attack.replace(**changes), reaching through wrappers such as Restarts."""
  inner = getattr(attack, "attack", None)
  if inner is not None:
    return attack.replace(attack=_with(inner, **changes))
  return attack.replace(**changes)


@pytest.fixture(params=sorted(CASES))
def case(request):
  return CASES[request.param]


def test_zero_eps_returns_x(case, mnist_model):
  attack, _ = case
  logits_fn, x, y, _ = mnist_model
  zero = _with(attack, eps=0.0)
  np.testing.assert_array_equal(zero(logits_fn, x[:32], y[:32], key=jax.random.key(0)), x[:32])


def test_stays_in_the_ball_and_the_box(case, mnist_model):
  attack, norm = case
  logits_fn, x, y, _ = mnist_model
  x_adv = attack(logits_fn, x[:64], y[:64], key=jax.random.key(0))
  chex.assert_tree_all_finite(x_adv)
  assert x_adv.shape == x[:64].shape and x_adv.dtype == x.dtype
  assert float(attacks.perturbation_norm(x_adv - x[:64], norm).max()) <= _bound(EPS[norm])
  assert float(x_adv.min()) >= 0.0 and float(x_adv.max()) <= 1.0
  assert float(jnp.abs(x_adv - x[:64]).max()) > 0  # it moved


def test_same_key_same_output_and_jit_agrees(case, mnist_model):
  attack, _ = case
  logits_fn, x, y, _ = mnist_model
  run = lambda a, key: a(logits_fn, x[:32], y[:32], key=key)
  first = run(attack, jax.random.key(3))
  np.testing.assert_array_equal(first, run(attack, jax.random.key(3)))
  jitted = jax.jit(run)(attack, jax.random.key(3))
  np.testing.assert_allclose(jitted, first, atol=1e-6)


def test_lowers_accuracy_of_a_trained_model(case, mnist_model):
  attack, _ = case
  logits_fn, x, y, clean_accuracy = mnist_model
  x_adv = jax.jit(functools.partial(attack, logits_fn))(x, y, key=jax.random.key(0))
  robust = float((logits_fn(x_adv).argmax(-1) == y).mean())
  assert clean_accuracy > 0.9
  assert robust < clean_accuracy - 0.3, (clean_accuracy, robust)


def test_targeted_mode_reaches_the_target(case, mnist_model):
  attack, norm = case
  logits_fn, x, y, _ = mnist_model
  target = (y[:100] + 1) % 10
  assert float((logits_fn(x[:100]).argmax(-1) == target).mean()) < 0.05
  # A chosen target needs a larger budget than any misclassification: at 2 * EPS
  # PGD reaches ~70% on this model (measured), at EPS ~20%.
  targeted = _with(attack, eps=2 * EPS[norm], targeted=True)
  x_adv = targeted(logits_fn, x[:100], target, key=jax.random.key(0))
  hit = float((logits_fn(x_adv).argmax(-1) == target).mean())
  assert hit > 0.5, hit


def test_sweep_over_eps_by_vmap_matches_single_calls(case, mnist_model):
  attack, norm = case
  logits_fn, x, y, _ = mnist_model
  radii = jnp.asarray([0.0, EPS[norm] / 2, EPS[norm]])
  stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves),
                         *[_with(attack, eps=r) for r in radii])
  swept = jax.vmap(lambda a: a(logits_fn, x[:16], y[:16], key=jax.random.key(1)))(stacked)
  assert swept.shape == (3,) + x[:16].shape
  for i, r in enumerate(radii):
    single = _with(attack, eps=r)(logits_fn, x[:16], y[:16], key=jax.random.key(1))
    np.testing.assert_allclose(swept[i], single, atol=1e-5)
    assert float(attacks.perturbation_norm(swept[i] - x[:16], norm).max()) <= _bound(r)


def test_bad_hyperparameters_raise(case, mnist_model):
  attack, _ = case
  logits_fn, x, y, _ = mnist_model
  with pytest.raises(ValueError, match="eps"):
    _with(attack, eps=-0.1)(logits_fn, x[:2], y[:2], key=jax.random.key(0))
  with pytest.raises(ValueError, match="steps"):
    _with(attack, steps=0)
  with pytest.raises(ValueError, match="valid choices"):
    _with(attack, norm="l3")
  with pytest.raises(ValueError, match="valid choices"):
    _with(attack, loss="hinge2")


def test_bad_inputs_are_rejected(case, mnist_model):
  attack, _ = case
  logits_fn, x, y, _ = mnist_model
  with pytest.raises(ValueError, match="NaN"):
    attack(logits_fn, x[:2].at[0, 0, 0, 0].set(jnp.nan), y[:2], key=jax.random.key(0))
  with pytest.raises(ValueError, match="input box"):
    attack(logits_fn, x[:2] * 2 - 0.5, y[:2], key=jax.random.key(0))
  with pytest.raises(TypeError, match="integer labels"):
    attack(logits_fn, x[:2], y[:2].astype(jnp.float32), key=jax.random.key(0))
  with pytest.raises(ValueError, match=r"\[batch\]"):
    attack(logits_fn, x[:2], y[:3], key=jax.random.key(0))
