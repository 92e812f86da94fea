"""Attacks cross-checked against certificates: on every point certified at eps, PGD and
AutoAttack find no adversarial example (a sound certificate and a sound attack must agree)."""

import functools

import jax
import numpy as np
import pytest

from jaxrobust import certify, models
from jaxrobust.attacks import PGD, AutoAttack
from tests.certify import _trained

EPS = 0.1


@functools.lru_cache(maxsize=None)
def setup():
  """An IBP-trained MLP on digits, 64 test points and their certificates at EPS."""
  model, variables = _trained.trained("mlp", "ibp", 300, eps=EPS, warmup_steps=30,
                                      ramp_steps=120)
  _, _, x, y = _trained.digits()
  x, y = x[:64], y[:64]
  net = certify.network(model, variables, x.shape[1:])
  mask = jax.jit(certify.certified_mask, static_argnames=("norm", "method", "chunk"))
  cert = {m: np.asarray(mask(net, x, y, EPS, method=m)) for m in ("ibp", "crown")}
  return models.as_logits_fn(model, variables), x, y, cert


def _check(logits_fn, x, y, cert, x_adv):
  robust = np.asarray(logits_fn(x_adv).argmax(-1) == y)
  for method, mask in cert.items():
    assert mask.sum() >= 16, method  # enough certified points for the check to bite
    assert robust[mask].all(), f"an attack broke a point certified by {method}"
  return robust


def test_pgd_finds_nothing_on_certified_points():
  logits_fn, x, y, cert = setup()
  pgd = PGD(eps=EPS, step_size=EPS / 8, steps=40)
  x_adv = jax.jit(lambda x, y: pgd(logits_fn, x, y, key=jax.random.key(0)))(x, y)
  robust = _check(logits_fn, x, y, cert, x_adv)
  certified_any = cert["ibp"] | cert["crown"]
  # The attack is not idle: certified <= PGD-robust, with some uncertified points broken
  # by it or wrongly classified.
  assert robust.mean() >= certified_any.mean()
  assert not robust.all()


@pytest.mark.slow
def test_autoattack_finds_nothing_on_certified_points():
  logits_fn, x, y, cert = setup()
  aa = AutoAttack(eps=EPS, steps=50, n_queries=500)
  x_adv = jax.jit(lambda x, y: aa(logits_fn, x, y, key=jax.random.key(0)))(x, y)
  _check(logits_fn, x, y, cert, x_adv)
