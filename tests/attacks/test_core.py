"""The shared attack core: norms, projections, random starts, steps."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings, strategies as st

from jaxrobust.attacks import _core
from jaxrobust.attacks.pgd import PGD


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


def test_check_nonnegative_under_jit_lower_with_traced_eps():
  f = lambda eps: (_core.check_nonnegative("eps", eps), 2 * eps)[1]  # noqa: E731
  jax.jit(f).lower(jnp.float32(0.1))
  jax.jit(f).lower(jax.ShapeDtypeStruct((), jnp.float32))
  logits_fn = lambda x: x.reshape(x.shape[0], -1)[:, :3]  # noqa: E731
  attack = PGD(eps=0.1, step_size=0.05, steps=1, norm="linf", random_start=False)
  x, y = jnp.full((2, 2, 2, 1), 0.5), jnp.array([0, 1])
  jax.jit(lambda a, x: a(logits_fn, x, y)).lower(attack, x)  # jax rebuilds it from tracers
  with pytest.raises(ValueError, match="eps must be finite and >= 0"):
    _core.check_nonnegative("eps", jnp.float32(-1.0))


@pytest.mark.parametrize("size, eps", [(1e-20, 1e-20), (1e-20, 1e-21), (1e-25, 1e-22),
                                       (0.0, 1e-30), (3e-21, 5e-20)])
def test_l2_projection_of_underflowing_radii_is_finite_and_in_the_ball(size, eps):
  delta = jnp.full((2, 3, 3, 1), size, jnp.float32).at[1, 0, 0, 0].set(0.0)
  out = np.asarray(_core.project(delta, eps, "l2"), np.float64)
  assert np.all(np.isfinite(out))
  norms = np.linalg.norm(out.reshape(2, -1), axis=1)
  assert np.all(norms <= np.float32(eps) * (1 + 1e-5)), norms
  direct = np.asarray(delta, np.float64)  # the projection is a rescaling of delta
  scale = min(1.0, eps / np.linalg.norm(direct[0])) if size else 1.0
  np.testing.assert_allclose(out[0], direct[0] * scale, rtol=1e-5)


def test_l2_projection_of_normal_inputs_is_unchanged_bit_for_bit():
  scales = jnp.logspace(-6, 1, 8)[:, None, None, None]
  delta = jax.random.normal(jax.random.key(0), (8, 5, 5, 3)) * scales
  eps = jnp.array([0.0, 1e-3, 0.1, 1.0, 2.0, 1e-6, 0.5, 3.0])
  ball = jax.vmap(optax.projections.projection_l2_ball)
  expected = jnp.where((eps > 0)[:, None, None, None], ball(delta, eps), 0.0)
  np.testing.assert_array_equal(_core.project(delta, eps, "l2"), expected)
  np.testing.assert_array_equal(jax.jit(_core.project, static_argnums=2)(delta, eps, "l2"),
                                jax.jit(lambda d, e: jnp.where((e > 0)[:, None, None, None],
                                                               ball(d, e), 0.0))(delta, eps))
