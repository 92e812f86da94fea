"""Certified training (IBP, CROWN-IBP) through the registry and the library's train step."""

import functools

import chex
import jax
import jax.numpy as jnp
import pytest

from jaxrobust import certify, defenses
from tests.certify import _trained

EPS = 0.1
SCHEDULE = {"eps": EPS, "warmup_steps": 30, "ramp_steps": 120}


@functools.lru_cache(maxsize=None)
def certified_fraction(defense_name, method="ibp", **options):
  model, variables = _trained.trained("mlp", defense_name, 300, **options)
  _, _, x, y = _trained.digits()
  net = certify.network(model, variables, x.shape[1:])
  acc = jax.jit(functools.partial(certify.certified_accuracy, method=method))
  clean = float((jax.vmap(net)(x).argmax(-1) == y).mean())
  return clean, float(acc(net, x, y, EPS))


def test_schedules():
  """Warm-up at eps 0 and kappa 1, then linear ramps to (eps, kappa, beta), then constant."""
  ibp = defenses.DEFENSES.make("ibp", eps=0.1, warmup_steps=10, ramp_steps=20)
  crown = defenses.DEFENSES.make("crown_ibp", eps=0.1, warmup_steps=10, ramp_steps=20)
  steps = jnp.array([0, 10, 20, 30, 100])
  ibp_values = jax.vmap(lambda s: ibp.at_step(s).schedule())(steps)
  chex.assert_trees_all_close(ibp_values, {"eps": jnp.array([0, 0, 0.05, 0.1, 0.1]),
                                           "kappa": jnp.array([1, 1, 0.75, 0.5, 0.5])})
  crown_values = jax.vmap(lambda s: crown.at_step(s).schedule())(steps)
  chex.assert_trees_all_close(crown_values["beta"], jnp.array([1, 1, 0.5, 0, 0]))
  chex.assert_trees_all_close(crown_values["kappa"], jnp.array([1, 1, 0.5, 0, 0]))
  assert float(ibp.schedule()["eps"]) == pytest.approx(0.1)  # no step: the schedule's end
  sudden = defenses.DEFENSES.make("ibp", eps=0.1, warmup_steps=5)
  assert float(sudden.at_step(4).schedule()["eps"]) == 0.0
  assert float(sudden.at_step(5).schedule()["eps"]) == pytest.approx(0.1)


def test_ibp_training_certifies_what_standard_training_does_not():
  """Gowal et al.'s recipe on digits: IBP-certified accuracy at eps 0.1 rises from ~0
  (standard training) to a majority of the test set, at a moderate cost in clean accuracy."""
  clean_std, cert_std = certified_fraction("standard")
  clean_ibp, cert_ibp = certified_fraction("ibp", **SCHEDULE)
  assert cert_std < 0.1 < 0.5 < cert_ibp
  assert clean_ibp > 0.8 and clean_std > 0.9


@pytest.mark.slow
def test_crown_ibp_training_certifies():
  """CROWN-IBP training (beta 1 -> 0) also certifies most of the test set (CROWN-IBP bounds)."""
  clean, cert = certified_fraction("crown_ibp", method="crown_ibp", **SCHEDULE)
  assert cert > 0.5 and clean > 0.8


def test_bad_input():
  with pytest.raises(ValueError, match="kappa"):
    defenses.DEFENSES.make("ibp", kappa=1.5)
  with pytest.raises(ValueError, match="eps"):
    defenses.DEFENSES.make("ibp", eps=-0.1)
  with pytest.raises(ValueError, match="norm"):
    defenses.DEFENSES.make("crown_ibp", norm="l1")
  with pytest.raises(ValueError, match="beta"):
    defenses.DEFENSES.make("crown_ibp", beta=2.0)
  with pytest.raises(ValueError, match="ramp_steps"):
    defenses.DEFENSES.make("ibp", ramp_steps=-1)
  with pytest.raises(ValueError, match="Unknown option"):
    defenses.DEFENSES.from_config({"name": "ibp", "attack": None})
  model = _trained.make_model("small_cnn", batchnorm=True)
  x, y = _trained.digits()[2][:4], _trained.digits()[3][:4]
  variables = model.init(jax.random.key(0), x)
  fn = lambda z: model.apply(variables, z, train=False)
  with pytest.raises(TypeError, match="BatchNorm"):
    defenses.DEFENSES.make("ibp")(fn, fn, x, y, key=jax.random.key(0))
