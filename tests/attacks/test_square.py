"""Square attack: its schedule, its windows, and the acceptance rule of its random search."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust.attacks.square import HALVINGS, Square, eta, p_schedule, window_sizes


def _reference_p(p_init, it, n_queries):
  """The schedule as the paper states it: p_init halved each time the rescaled
  iteration int(it / n_queries * 10000) passes 10, 50, 200, ..., 8000."""
  it = int(it / n_queries * 10000)
  return p_init / 2 ** sum(it > b for b in HALVINGS)


def test_p_schedule_checkpoints_at_10000_queries():
  p = p_schedule(0.8, 10000)
  assert len(p) == 9999  # query 0 is the initialisation
  assert p[0] == 0.8
  for j, b in enumerate(HALVINGS):  # halved once the iteration is past b
    assert p[b] == pytest.approx(0.8 / 2 ** j), b
    assert p[b + 1] == pytest.approx(0.8 / 2 ** (j + 1)), b
  assert p[-1] == pytest.approx(0.8 / 512)


@pytest.mark.parametrize("n_queries", [10000, 5000, 1000, 300, 7])
def test_p_schedule_is_rescaled_to_the_budget(n_queries):
  p = p_schedule(0.3, n_queries)
  expected = [_reference_p(0.3, i, n_queries) for i in range(n_queries - 1)]
  np.testing.assert_allclose(p, expected, rtol=0)
  assert np.all(np.diff(p) <= 0)


def test_p_schedule_at_5000_queries_halves_twice_as_early():
  p = p_schedule(0.8, 5000)
  assert p[5] == 0.8 and p[6] == 0.4      # 6 * 2 = 12 > 10
  assert p[25] == 0.4 and p[26] == 0.2    # 52 > 50
  assert p[4000] == 0.8 / 256 and p[4001] == 0.8 / 512  # 8002 > 8000


def test_window_sizes_follow_the_fraction_of_pixels():
  linf = window_sizes(0.8, "linf", 28, 28)
  assert linf == tuple(max(round(math.sqrt(0.8 / 2 ** k * 784)), 1) for k in range(10))
  assert linf[0] == 25 and linf[-1] == 1
  l2 = window_sizes(0.8, "l2", 28, 28)
  assert all(s % 2 == 1 and s >= 3 for s in l2)
  assert l2 == (25, 19, 13, 9, 7, 5, 3, 3, 3, 3)
  assert max(window_sizes(1.0, "l2", 28, 28)) <= 28  # never larger than the image


def test_eta_is_m_over_minus_m_with_unit_norm():
  for s in (3, 5, 6, 25):
    e = eta(s)
    assert e.shape == (s, s)
    assert np.sum(e * e) == pytest.approx(1.0)
    assert np.all(e[: s // 2] > 0) and np.all(e[s // 2:] < 0)
  # M^(2, 5) by hand: 1/9 on the outer box, + 1/4 on the 3-wide box, + 1 at the centre.
  top = eta(5)[:2] / eta(5)[0, 0] / 9
  np.testing.assert_allclose(top, [[1 / 9, 13 / 36, 13 / 36, 13 / 36, 1 / 9],
                                   [1 / 9, 13 / 36, 49 / 36, 13 / 36, 1 / 9]], rtol=1e-6)


def _step_fn(attack, logits_fn, x, y):
  return jax.jit(lambda state, i, key: attack.step(logits_fn, x, y, state, i, key))


@pytest.mark.parametrize("norm,eps", [("linf", 0.1), ("l2", 1.5)])
def test_a_query_is_accepted_only_if_the_margin_drops(norm, eps, mnist_model):
  logits_fn, x, y, _ = mnist_model
  x, y = x[:24], y[:24]
  attack = Square(eps=eps, n_queries=200, norm=norm)
  key = jax.random.key(0)
  state = attack.init(logits_fn, x, y, key)
  step = _step_fn(attack, logits_fn, x, y)
  accepted = 0
  for i in range(40):
    new = step(state, i, key)
    margin, new_margin = np.asarray(state.margin), np.asarray(new.margin)
    moved = np.any(np.asarray(new.x_best != state.x_best), axis=(1, 2, 3))
    assert np.all(new_margin <= margin)
    np.testing.assert_array_equal(moved, new_margin < margin)   # moved iff the margin dropped
    assert not np.any(moved & ~np.asarray(state.active))          # fooled examples are frozen
    np.testing.assert_array_equal(new.queries - state.queries, state.active)
    np.testing.assert_allclose(new_margin, attack.margin(logits_fn(new.x_best), y), atol=1e-4)
    np.testing.assert_array_equal(new.active, np.asarray(state.active) & (new_margin > 0))
    accepted += int(moved.sum())
    state = new
  assert accepted > 0
  norms = attack_norm(state.x_best - x, norm)
  assert float(norms.max()) <= eps * (1 + 1e-6) + 1e-6


def attack_norm(delta, norm):
  flat = np.asarray(delta).reshape(len(delta), -1)
  return np.abs(flat).max(1) if norm == "linf" else np.sqrt((flat ** 2).sum(1))


def test_linf_perturbation_lies_on_the_vertices_of_the_ball(mnist_model):
  logits_fn, x, y, _ = mnist_model
  x, y = x[:32], y[:32]
  x_adv, queries = jax.jit(lambda x, y: Square(eps=0.1, n_queries=50).with_queries(
      logits_fn, x, y, key=jax.random.key(1)))(x, y)
  attacked = np.asarray(queries) > 0
  assert attacked.sum() >= 28
  d = np.abs(np.asarray(x_adv - x))[attacked]
  at_box = np.isin(np.asarray(x_adv)[attacked], (0.0, 1.0))
  # Each coordinate sits at x +- eps, or where the box cut that vertex off.
  assert np.all((np.abs(d - 0.1) < 1e-6) | at_box)


def test_queries_are_counted_per_example_and_the_loop_stops_when_all_are_fooled():
  w = jax.random.normal(jax.random.key(0), (10, 8 * 8 * 3))

  def logits_fn(x):
    return x.reshape(len(x), -1) @ w.T

  x = jax.random.uniform(jax.random.key(1), (16, 8, 8, 3))
  y = logits_fn(x).argmax(-1)
  y = y.at[:2].set((y[:2] + 1) % 10)                 # two examples already misclassified
  attack = Square(eps=0.3, n_queries=400, n_restarts=2)
  x_adv, queries = jax.jit(
      lambda x, y: attack.with_queries(logits_fn, x, y, key=jax.random.key(2)))(x, y)
  queries = np.asarray(queries)
  fooled = np.asarray(logits_fn(x_adv).argmax(-1) != y)
  assert fooled.all()                          # a linear model at eps 0.3 is easy
  assert np.all(queries[:2] == 0)              # nothing spent on misclassified inputs
  np.testing.assert_array_equal(x_adv[:2], x[:2])
  assert np.all((queries[2:] >= 1) & (queries[2:] < 400))

  robust = Square(eps=0.0, n_queries=30, n_restarts=2)
  _, q = robust.with_queries(logits_fn, x, logits_fn(x).argmax(-1), key=jax.random.key(2))
  np.testing.assert_array_equal(q, 2 * 30)     # full budget on every restart when nothing breaks


@pytest.mark.parametrize("norm,eps", [("linf", 0.3), ("l2", 3.0)])
def test_targeted_mode_reaches_targets_of_a_linear_model(norm, eps):
  w = jax.random.normal(jax.random.key(0), (5, 10 * 10))

  def logits_fn(x):
    return x.reshape(len(x), -1) @ w.T

  x = jax.random.uniform(jax.random.key(1), (16, 10, 10, 1))
  target = (logits_fn(x).argmax(-1) + 1) % 5
  attack = Square(eps=eps, n_queries=300, norm=norm, targeted=True)
  x_adv = jax.jit(lambda x, t: attack(logits_fn, x, t, key=jax.random.key(3)))(x, target)
  assert float(jnp.mean(logits_fn(x_adv).argmax(-1) == target)) > 0.9
  assert attack_norm(x_adv - x, norm).max() <= eps * (1 + 1e-6) + 1e-6


def test_bad_arguments_raise():
  with pytest.raises(ValueError, match="p_init"):
    Square(p_init=0.0)
  with pytest.raises(ValueError, match="valid choices"):
    Square(norm="l1")
  with pytest.raises(ValueError, match="n_queries"):
    Square(n_queries=0)
  x = jnp.zeros((2, 784))
  with pytest.raises(ValueError, match="height, width, channels"):
    Square()(lambda z: z[:, :10], x, jnp.zeros(2, jnp.int32), key=jax.random.key(0))
  with pytest.raises(ValueError, match="key"):
    Square()(lambda z: z.reshape(2, -1)[:, :10], jnp.zeros((2, 8, 8, 1)),
             jnp.zeros(2, jnp.int32))


def test_linf_proposals_redraw_signs_that_would_change_nothing():
  # Every pixel already at the +eps vertex: a proposal with sign +1 is a no-op.
  x = jnp.full((256, 8, 8, 1), 0.5)
  x_best = x + 0.1
  s = jnp.asarray(2)

  def changed(redraw):
    attack = Square(eps=0.1, n_queries=10, redraw_noops=redraw)
    x_new = attack._linf_proposal(jax.random.key(0), x, x_best, s, 0)
    return np.any(np.asarray(x_new != x_best), axis=(1, 2, 3))

  assert changed(True).all()
  assert 0.3 < changed(False).mean() < 0.7     # AutoAttack's law: half are no-ops
