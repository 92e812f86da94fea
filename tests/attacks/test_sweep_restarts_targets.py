"""Sweeps over eps, random restarts and target helpers."""

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import attacks
from tests import numerics

sweep_module = importlib.import_module("jaxrobust.attacks.sweep")  # the name is the function


def test_robust_accuracy_curve_starts_at_clean_accuracy_and_falls(mnist_model):
  logits_fn, x, y, clean = mnist_model
  pgd = attacks.PGD(eps=0.1, step_size=0.025, steps=10)
  curve = attacks.robust_accuracy_curve(pgd, logits_fn, x[:200], y[:200],
                                        eps=[0.0, 0.05, 0.1, 0.2], key=jax.random.key(0))
  assert curve.shape == (4,)
  np.testing.assert_allclose(curve[0], float((logits_fn(x[:200]).argmax(-1) == y[:200]).mean()))
  assert np.all(np.diff(np.asarray(curve)) <= 0.02)  # non-increasing up to noise
  assert float(curve[-1]) < float(curve[0]) - 0.3


def test_stack_eps_keeps_the_step_to_eps_ratio():
  stacked = attacks.stack_eps(attacks.PGD(eps=0.1, step_size=0.025), [0.05, 0.2])
  np.testing.assert_allclose(stacked.eps, [0.05, 0.2])
  np.testing.assert_allclose(stacked.step_size, [0.0125, 0.05], rtol=1e-6)
  fixed = attacks.stack_eps(attacks.PGD(eps=0.1, step_size=0.025), [0.05, 0.2], scale_step=False)
  np.testing.assert_allclose(fixed.step_size, [0.025, 0.025])
  with pytest.raises(ValueError, match="eps"):
    attacks.stack_eps(attacks.PGD(), [0.1, -0.1])
  with pytest.raises(ValueError, match="non-empty"):
    attacks.stack_eps(attacks.PGD(), [])


def test_restarts_are_at_least_as_strong_as_each_run(mnist_model):
  logits_fn, x, y, _ = mnist_model
  pgd = attacks.PGD(eps=0.08, step_size=0.02, steps=5)
  key = jax.random.key(0)
  combined = attacks.Restarts(pgd, restarts=3)(logits_fn, x[:200], y[:200], key=key)
  broken = logits_fn(combined).argmax(-1) != y[:200]
  for k in jax.random.split(key, 3):
    single = pgd(logits_fn, x[:200], y[:200], key=k)
    single_broken = logits_fn(single).argmax(-1) != y[:200]
    assert not np.any(single_broken & ~broken)  # whatever one run breaks stays broken
  with pytest.raises(ValueError, match="restarts"):
    attacks.Restarts(pgd, restarts=0)


def test_target_helpers():
  y = jnp.array([0, 3, 9, 5] * 50)
  targets = attacks.random_targets(jax.random.key(0), y, 10)
  assert targets.dtype == jnp.int32 and np.all(targets != y)
  assert set(np.asarray(targets).tolist()) == set(range(10))
  logits = jnp.array([[0.0, -3.0, 1.0], [2.0, 1.0, 5.0]])
  np.testing.assert_array_equal(attacks.least_likely_targets(logits), [1, 1])


def test_sweep_compiles_as_one_program_under_jit(mnist_model):
  logits_fn, x, y, _ = mnist_model
  pgd = attacks.PGD(eps=0.1, step_size=0.025, steps=3)
  with jax.enable_x64(True):  # jit and eager: compared in float64 (tests/numerics.py)
    x64 = numerics.to64(x[:8])
    run = jax.jit(lambda x, y, key: attacks.sweep(pgd, logits_fn, x, y, eps=[0.05, 0.1], key=key))
    swept = run(x64, y[:8], jax.random.key(0))
    eager = attacks.sweep(pgd, logits_fn, x64, y[:8], eps=[0.05, 0.1], key=jax.random.key(0))
    for i in range(2):
      numerics.assert_agree(swept[i], eager[i], logits_fn, y[:8])


def test_sweep_strategies_agree_with_single_calls(mnist_model):
  """Sequential and vmapped curves both give the single calls' points; an
  unknown strategy is refused by name."""
  logits_fn, x, y, _ = mnist_model
  pgd = attacks.PGD(eps=0.1, step_size=0.025, steps=3)
  radii = [0.05, 0.1]
  with jax.enable_x64(True):
    x64 = numerics.to64(x[:8])
    key = jax.random.key(0)
    sequential = attacks.sweep(pgd, logits_fn, x64, y[:8], eps=radii, key=key,
                               strategy="sequential")
    vmapped = attacks.sweep(pgd, logits_fn, x64, y[:8], eps=radii, key=key, strategy="vmap")
    curve = attacks.Sweep(pgd, jnp.asarray(radii), strategy="sequential")(
        logits_fn, x64, y[:8], key=key)
    stacked = attacks.stack_eps(pgd, radii)
    for i in range(len(radii)):
      single = jax.tree.map(lambda leaf: leaf[i], stacked)(logits_fn, x64, y[:8], key=key)
      numerics.assert_agree(sequential[i], single, logits_fn, y[:8])
      numerics.assert_agree(vmapped[i], single, logits_fn, y[:8])
      numerics.assert_agree(curve[i], single, logits_fn, y[:8])
  with pytest.raises(ValueError, match="strategy"):
    attacks.sweep(pgd, logits_fn, x[:8], y[:8], eps=radii, key=key, strategy="loop")


def test_auto_strategy_is_sequential_on_cpu_unless_overridden(monkeypatch):
  # "sequential" runs the curve faster than K calls on CPU, "vmap" on accelerators.
  monkeypatch.delenv("JAXROBUST_SWEEP_STRATEGY", raising=False)
  expected = "sequential" if jax.default_backend() == "cpu" else "vmap"
  assert sweep_module.resolve_strategy("auto") == expected
  assert sweep_module.resolve_strategy("vmap") == "vmap"
  monkeypatch.setenv("JAXROBUST_SWEEP_STRATEGY", "vmap")
  assert sweep_module.resolve_strategy("auto") == "vmap"
  monkeypatch.setenv("JAXROBUST_SWEEP_STRATEGY", "loop")
  with pytest.raises(ValueError, match="JAXROBUST_SWEEP_STRATEGY"):
    sweep_module.resolve_strategy("auto")
