"""The shared attack core: norms, projections, random starts, steps."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from jaxrobust.attacks import _core


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), eps=st.floats(0.0, 3.0), ord=st.sampled_from(_core.NORMS))
def test_projection_lands_in_the_ball_and_fixes_points_inside(seed, eps, ord):
  delta = jax.random.normal(jax.random.key(seed), (5, 3, 4, 1))
  projected = _core.project(delta, eps, ord)
  assert float(_core.norm(projected, ord).max()) <= eps * (1 + 1e-5) + 1e-6
  inside = delta * 1e-3 * eps
  np.testing.assert_allclose(_core.project(inside, eps, ord), inside, rtol=1e-5, atol=1e-7)


def test_l2_projection_is_the_nearest_point():
  delta = jnp.array([[3.0, 4.0], [0.3, 0.4]])
  np.testing.assert_allclose(_core.project(delta, 1.0, "l2"), [[0.6, 0.8], [0.3, 0.4]],
                             rtol=1e-6)


@pytest.mark.parametrize("ord", _core.NORMS)
def test_random_start_is_inside_ball_and_box_and_fills_the_ball(ord):
  x = jnp.full((2000, 4, 4, 1), 0.5)
  eps = {"linf": 0.3, "l2": 0.5, "l1": 1.0}[ord]  # small enough that box clipping is rare
  start = _core.random_start(jax.random.key(0), x, eps, ord)
  radii = np.asarray(_core.norm(start - x, ord))
  assert radii.max() <= eps + 1e-6 and float(start.min()) >= 0 and float(start.max()) <= 1
  if ord != "linf":
    # Uniform in a 16-dim ball of any norm: P(r <= eps * t) = t^16, so the median
    # radius is eps * 0.5^(1/16).
    assert np.median(radii) == pytest.approx(eps * 0.5 ** (1 / 16), rel=0.02)
  else:
    assert np.abs(np.asarray(start - x)).mean() == pytest.approx(eps / 2, rel=0.05)


def test_ascent_direction_has_unit_norm_and_zero_stays_zero():
  g = jax.random.normal(jax.random.key(0), (4, 3, 3, 2))
  np.testing.assert_allclose(_core.norm(_core.ascent_direction(g, "l2"), "l2"), 1.0, rtol=1e-5)
  np.testing.assert_array_equal(_core.ascent_direction(g, "linf"), jnp.sign(g))
  np.testing.assert_array_equal(_core.ascent_direction(jnp.zeros((2, 3)), "l2"), 0.0)


def test_input_gradient_is_per_example():
  w = jnp.array([[1.0, -1.0], [2.0, 0.5]])
  logits_fn = lambda x: x @ w
  loss = lambda logits, y: logits[jnp.arange(len(y)), y]
  x = jnp.ones((3, 2))
  y = jnp.array([0, 1, 0])
  np.testing.assert_allclose(_core.input_gradient(logits_fn, loss, x, y), w.T[y])


def test_l1_sparse_step_has_unit_l1_norm_on_the_largest_coordinates():
  g = jnp.arange(1.0, 21.0).reshape(1, 20) * jnp.array([1.0, -1.0] * 10)
  step = _core.ascent_direction(g, "l1", l1_sparsity=0.9)
  np.testing.assert_allclose(_core.norm(step, "l1"), [1.0], rtol=1e-6)
  nonzero = np.flatnonzero(np.asarray(step[0]))
  assert set(nonzero.tolist()) == {18, 19}  # the two largest |g|
  np.testing.assert_array_equal(np.sign(step[0, nonzero]), np.sign(g[0, nonzero]))


def test_step_loop_unrolls_short_loops_only_and_agrees_with_a_rolled_loop(monkeypatch):
  """Up to UNROLL_MAX_STEPS (the library's default here: the suite itself runs
  rolled, see conftest.py) the loop is straight-line code (no while in the
  program); beyond, a while loop. Both run the same steps."""
  monkeypatch.setattr(_core, "UNROLL_MAX_STEPS", _core.DEFAULT_UNROLL_MAX_STEPS)
  body = lambda i, carry: carry * 1.5 + i
  short, long = _core.UNROLL_MAX_STEPS, _core.UNROLL_MAX_STEPS + 1
  for steps, rolled in ((short, False), (long, True)):
    program = jax.jit(lambda c: _core.step_loop(steps, body, c)).lower(jnp.ones(3)).as_text()
    assert ("while" in program) == rolled, steps
    np.testing.assert_allclose(_core.step_loop(steps, body, jnp.ones(3)),
                               jax.lax.fori_loop(0, steps, body, jnp.ones(3)), rtol=1e-6)
