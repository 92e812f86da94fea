"""Conformance of every registered measure family (measures.MEASURES; its registry line
brings these cases): on a tiny MLP each family returns a non-empty dict of finite
scalars, the same for the same key, and a different model measures differently."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import measures
from jaxrobust.attacks import PGD

ATTACK = PGD(eps=0.1, step_size=0.05, steps=2)
# Small budgets; a family absent here runs at its defaults.
TINY = {"input_margin": {"steps": 3}, "local_lipschitz": {"steps": 2},
        "boundary_thickness": {"steps": 4, "points": 8},
        "pacbayes": {"steps": 3, "samples": 2}, "pacbayes_mag": {"steps": 3, "samples": 2},
        "sharpness": {"steps": 2}, "average_flatness": {"samples": 2},
        "hessian": {"num_iters": 3, "num_samples": 2}}


def apply_fn(params, x):
  """A ReLU MLP 8 -> 6 -> 3 in Flax's parameter naming (the norm families read kernels)."""
  h = x.reshape(x.shape[0], -1) @ params["Dense_0"]["kernel"] + params["Dense_0"]["bias"]
  return jax.nn.relu(h) @ params["Dense_1"]["kernel"] + params["Dense_1"]["bias"]


def _params(seed):
  rng = np.random.default_rng(seed)
  return {f"Dense_{i}": {"kernel": jnp.asarray(rng.normal(size=(a, b)) / 3, jnp.float32),
                       "bias": jnp.asarray(rng.normal(size=b) / 10, jnp.float32)}
          for i, (a, b) in enumerate([(8, 6), (6, 3)])}


def test_every_family_has_tiny_options():
  assert set(TINY) <= set(measures.MEASURES.names())


# Families whose tiny run still compiles an attack, a sampler or a Hessian (4-16 s each
# under load): slow tier; tests/measures/test_measures.py checks their values in the default one.
SLOW = ("boundary_thickness", "pacbayes", "pacbayes_mag", "sharpness", "average_flatness",
        "hessian")


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
                                  for n in measures.MEASURES.names()])
def test_family_returns_finite_scalars_deterministic_per_key(name):
  p0, rng = _params(0), np.random.default_rng(1)
  p = jax.tree.map(lambda a: a + jnp.asarray(0.3 * rng.normal(size=a.shape), jnp.float32), p0)
  x = jnp.asarray(rng.uniform(size=(16, 8)), jnp.float32)
  y = jnp.asarray(rng.integers(0, 3, 16), jnp.int32)
  options = {name: TINY.get(name, {})}
  run = jax.jit(lambda p, k: measures.compute([name], apply_fn, p, p0, x, y, key=k,
                                              attack=ATTACK, options=options))
  out = run(p, jax.random.key(0))
  assert out and all(np.shape(v) == () and np.isfinite(v) for v in out.values()), out
  again = run(p, jax.random.key(0))
  assert {k: float(v) for k, v in again.items()} == {k: float(v) for k, v in out.items()}
  other = run(jax.tree.map(lambda a: 2.0 * a, p), jax.random.key(0))
  assert any(float(other[k]) != float(out[k]) for k in out), "the measures ignore the model"
