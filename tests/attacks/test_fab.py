"""FAB and FAB-T: the exact projection, the known optimum of a linear model, the
restriction to eps, restarts and targets (the shared properties are in
test_conformance.py, cases in cases_fab.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import linprog, minimize

from jaxrobust.attacks import _core
from jaxrobust.attacks._fab_projection import project_onto_hyperplane_box
from jaxrobust.attacks.fab import FAB, FABT

NORMS = ("linf", "l2", "l1")
DUAL = {"linf": 1, "l2": 2, "l1": np.inf}


def _reference_projection(t, w, b, norm):
  """min ||d||_p s.t. <w, t + d> = b, 0 <= t + d <= 1 by scipy (LP for linf / l1,
  SLSQP for l2); returns the optimal norm, or None if infeasible."""
  d = len(t)
  rhs = [b - w @ t]
  if norm == "l1":  # d = u - v, u, v >= 0
    result = linprog(np.ones(2 * d), A_eq=np.concatenate([w, -w])[None], b_eq=rhs,
                     bounds=[(0, 1 - ti) for ti in t] + [(0, ti) for ti in t], method="highs")
    return result.fun if result.status == 0 else None
  if norm == "linf":  # variables (d, s): min s, -s <= d_i <= s
    eye = np.eye(d)
    a_ub = np.block([[eye, -np.ones((d, 1))], [-eye, -np.ones((d, 1))]])
    result = linprog(np.r_[np.zeros(d), 1.0], A_ub=a_ub, b_ub=np.zeros(2 * d),
                     A_eq=np.r_[w, 0.0][None], b_eq=rhs,
                     bounds=[(-ti, 1 - ti) for ti in t] + [(0, None)], method="highs")
    return result.fun if result.status == 0 else None
  if linprog(np.zeros(d), A_eq=w[None], b_eq=rhs, bounds=[(-ti, 1 - ti) for ti in t],
             method="highs").status != 0:
    return None
  result = minimize(lambda v: v @ v, np.zeros(d), jac=lambda v: 2 * v, method="SLSQP",
                    constraints=[{"type": "eq", "fun": lambda v: w @ v - rhs[0],
                                  "jac": lambda v: w}],
                    bounds=[(-ti, 1 - ti) for ti in t], options={"ftol": 1e-15, "maxiter": 500})
  assert result.success
  return float(np.sqrt(result.fun))


def _random_problems(seed, n):
  """Small problems with pixels on the box's faces, zero weights, and hyperplanes
  near, far from and outside the box."""
  rng = np.random.default_rng(seed)
  for _ in range(n):
    d = int(rng.integers(2, 9))
    t = rng.uniform(0, 1, d)
    t[rng.uniform(size=d) < 0.2] = rng.integers(0, 2)
    w = rng.normal(size=d)
    w[rng.uniform(size=d) < 0.15] = 0.0
    b = w @ t + rng.normal() * rng.choice([0.1, 1.0, 3.0])
    yield t, w, b


@pytest.mark.parametrize("norm", NORMS)
def test_projection_matches_a_numerical_minimiser(norm):
  problems = list(_random_problems(seed=NORMS.index(norm), n=60))
  feasible = infeasible = 0
  for t, w, b in problems:
    d = np.asarray(project_onto_hyperplane_box(
        jnp.asarray(t[None], jnp.float32), jnp.asarray(w[None], jnp.float32),
        jnp.asarray([b], jnp.float32), norm), np.float64)[0]
    assert np.all(t + d >= -1e-6) and np.all(t + d <= 1 + 1e-6)  # in the box
    optimum = _reference_projection(t, w, b, norm)
    if optimum is not None:
      feasible += 1
      assert abs(w @ (t + d) - b) < 1e-4 * (1 + np.abs(w) @ np.abs(t)), (t, w, b)
      assert abs(_norm(d, norm) - optimum) < 1e-4 * (1 + optimum), (t, w, b)
    else:
      # The hyperplane misses the box: the corner on its side (the closest box point).
      infeasible += 1
      side = np.sign(w @ t - b) or 1.0
      corner = np.where(w * side > 0, -t, np.where(w * side < 0, 1 - t, 0.0))
      np.testing.assert_allclose(d, corner, atol=1e-6)
  assert feasible >= 20 and infeasible >= 3  # both branches exercised


def test_projection_l2_point_is_the_unique_minimiser():
  rng = np.random.default_rng(7)
  t = rng.uniform(0, 1, (1, 6))
  w = rng.normal(size=(1, 6))
  b = np.array([w[0] @ t[0] + 0.8])  # far enough that some coordinates hit the box
  d = np.asarray(project_onto_hyperplane_box(jnp.asarray(t), jnp.asarray(w), jnp.asarray(b),
                                             "l2"))[0]
  result = minimize(lambda v: v @ v, np.zeros(6), method="SLSQP",
                    constraints=[{"type": "eq", "fun": lambda v: w[0] @ v - 0.8}],
                    bounds=[(-ti, 1 - ti) for ti in t[0]], options={"ftol": 1e-15})
  assert np.any(np.isclose(t[0] + d, 0, atol=1e-6) | np.isclose(t[0] + d, 1, atol=1e-6))
  np.testing.assert_allclose(d, result.x, atol=1e-5)


def _norm(d, norm):
  return {"linf": np.abs(d).max(), "l2": np.linalg.norm(d), "l1": np.abs(d).sum()}[norm]


def _linear_binary(num, seed=0, dim=20):
  """Logits (-s/2, s/2) with s = <w, x> + b0, and points at signed distance
  t / ||w||_2 along w from the boundary through 0.5, deep inside the box."""
  rng = np.random.default_rng(seed)
  w = rng.normal(size=dim).astype(np.float32)
  b0 = -0.5 * w.sum()
  t = rng.uniform(0.05, 0.3, num) * rng.choice([-1.0, 1.0], num)
  x = (0.5 + t[:, None] * w[None] / (w @ w)).astype(np.float32)

  def logits_fn(z):
    s = z.reshape(z.shape[0], -1) @ jnp.asarray(w) + b0
    return jnp.stack([-s / 2, s / 2], axis=1)
  return logits_fn, jnp.asarray(x), w, b0


def _fab_factor(steps, alpha_max=0.1, eta=1.05, beta=0.9):
  """FAB's smallest distance over the minimal one on a linear model when the box
  is not active: along the single direction d*, x1 = x + s d* follows
  s <- (s + eta (1 - s)) (1 - alpha) + eta alpha, alpha = min((1 - s) / (2 - s),
  alpha_max), recorded and shrunk to beta s whenever s > 1 (adversarial)."""
  s, best = 0.0, np.inf
  for _ in range(steps):
    alpha = min(max(abs(1 - s) / (abs(1 - s) + 1), 0.0), alpha_max)
    s = (s + eta * (1 - s)) * (1 - alpha) + eta * alpha
    if s > 1:
      best, s = min(best, s), beta * s
  return best


@pytest.mark.parametrize("norm", NORMS)
def test_linear_binary_model_minimal_distance_in_closed_form(norm):
  logits_fn, x, w, b0 = _linear_binary(32)
  y = jnp.argmax(logits_fn(x), axis=1)
  optimum = np.abs(np.asarray(x).reshape(32, -1) @ w + b0) / np.linalg.norm(w, DUAL[norm])
  x_min, distance = jax.jit(lambda x, y: FAB(norm=norm, steps=50).minimal(logits_fn, x, y))(x, y)
  factor = _fab_factor(50)
  assert 1.0 < factor < 1.01
  np.testing.assert_allclose(np.asarray(distance), optimum * factor, rtol=2e-4)
  assert np.all(np.asarray(jnp.argmax(logits_fn(x_min), axis=1) != y))
  np.testing.assert_allclose(np.asarray(_core.norm(x_min - x, norm)), distance, rtol=1e-5)


def test_call_restricts_the_minimal_point_to_eps():
  logits_fn, x, w, b0 = _linear_binary(32, seed=1)
  y = jnp.argmax(logits_fn(x), axis=1)
  y = y.at[:4].set(1 - y[:4])  # four points misclassified from the start
  attack = FAB(eps=0.05, steps=30, norm="l2")
  x_min, distance = attack.minimal(logits_fn, x, y)
  x_adv = attack(logits_fn, x, y)
  inside = np.asarray(distance) <= 0.05
  assert 0 < inside[4:].sum() < 28  # some points within eps, some not
  np.testing.assert_array_equal(np.asarray(distance[:4]), 0.0)
  np.testing.assert_array_equal(x_adv, jnp.where(inside[:, None], x_min, x))
  np.testing.assert_array_equal(x_adv[:4], x[:4])


def test_fabt_reaches_its_target_on_a_linear_model():
  rng = np.random.default_rng(3)
  weights = jnp.asarray(rng.normal(size=(30, 10)), jnp.float32)
  logits_fn = lambda z: z.reshape(z.shape[0], -1) @ weights
  x = jnp.asarray(rng.uniform(0.2, 0.8, (64, 30)), jnp.float32)
  logits = logits_fn(x)
  y = jnp.argmax(logits, axis=1)
  second = jax.lax.top_k(logits, 2)[1][:, 1]
  x_min, distance = FABT(n_target_classes=1, steps=30).minimal(logits_fn, x, y)
  assert np.all(np.isfinite(np.asarray(distance)))
  hit = np.asarray(jnp.argmax(logits_fn(x_min), axis=1) == second)
  assert hit.mean() > 0.9, hit.mean()
  # Its distance is at least the distance to the target's linear boundary (in linf).
  gap = np.asarray(logits[jnp.arange(64), y] - logits[jnp.arange(64), second])
  w_diff = np.asarray(weights).T[np.asarray(second)] - np.asarray(weights).T[np.asarray(y)]
  lower = gap / np.abs(w_diff).sum(axis=1)
  assert np.all(np.asarray(distance)[hit] >= lower[hit] * (1 - 1e-5))


def test_more_restarts_and_targets_never_lengthen_the_minimal_point(mnist_model):
  logits_fn, x, y, _ = mnist_model
  x, y, key = x[:16], y[:16], jax.random.key(0)
  run = jax.jit(lambda attack, x, y, key: attack.minimal(logits_fn, x, y, key=key)[1])
  one = run(FAB(eps=0.2, steps=8), x, y, key)
  three = run(FAB(eps=0.2, steps=8, n_restarts=3), x, y, key)
  assert np.all(np.asarray(three) <= np.asarray(one))  # run 0 is the same, from x
  one_target = run(FABT(eps=0.2, steps=8, n_target_classes=1), x, y, key)
  three_targets = run(FABT(eps=0.2, steps=8, n_target_classes=3), x, y, key)
  assert np.all(np.asarray(three_targets) <= np.asarray(one_target))
  assert np.any(np.asarray(three_targets) < np.asarray(one_target))


def test_untargeted_linearisation_is_every_class_gradient():
  rng = np.random.default_rng(5)
  w1 = jnp.asarray(rng.normal(size=(12, 16)), jnp.float32)
  w2 = jnp.asarray(rng.normal(size=(16, 4)), jnp.float32)
  logits_fn = lambda z: jnp.tanh(z.reshape(z.shape[0], -1) @ w1) @ w2
  x = jnp.asarray(rng.uniform(size=(5, 3, 4)), jnp.float32)
  y = jnp.asarray([0, 1, 2, 3, 1])
  f, g = FAB()._linearise(logits_fn, x, y, None)
  per_example = jax.vmap(jax.jacobian(lambda v: logits_fn(v[None])[0]))(x).reshape(5, 4, -1)
  logits = logits_fn(x)
  np.testing.assert_allclose(f, logits - logits[jnp.arange(5), y][:, None], atol=1e-5)
  np.testing.assert_allclose(g, per_example - per_example[jnp.arange(5), y][:, None],
                             atol=1e-5)


def test_restarts_need_a_key(mnist_model):
  logits_fn, x, y, _ = mnist_model
  with pytest.raises(ValueError, match="key"):
    FAB(n_restarts=2)(logits_fn, x[:2], y[:2])
  with pytest.raises(ValueError, match="n_target_classes"):
    FABT(n_target_classes=0)
