"""APGD / APGD-T properties on hand-checked cases (the shared ones are in test_conformance.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scipy import optimize

from jaxrobust.attacks import _apgd_l1, _apgd_run
from jaxrobust.attacks import apgd as apgd_lib
from jaxrobust.attacks._apgd_l1 import project_l1_box
from jaxrobust.attacks._apgd_run import checkpoints, halving
from jaxrobust.attacks.apgd import APGD, APGDT
from jaxrobust.losses import cross_entropy


def test_checkpoints_follow_the_paper():
  # p = 0, .22, .41, .57, .70, .80, .87, .93, .99 (intervals .22, .19, ... down to .06).
  assert checkpoints(100) == (22, 41, 57, 70, 80, 87, 93, 99)
  assert checkpoints(1000) == (220, 410, 570, 700, 800, 870, 930, 990)
  assert checkpoints(10) == (3, 5, 6, 7, 8, 9, 10)  # ceil(p_j * 10)
  assert checkpoints(1) == (1,)
  for steps in range(1, 300):
    ws = checkpoints(steps)
    assert all(0 < a < b for a, b in zip(ws, ws[1:])) and ws[-1] <= steps
  with pytest.raises(ValueError, match="steps"):
    checkpoints(0)


def _replay(history, steps, rho=0.75):
  """Which checkpoints halve for a loss history f(x^(0)), ..., f(x^(steps)),
  through `halving` (no restarts: the history is given)."""
  history = np.asarray(history, np.float32)
  halved, prev, reduced_last, best_last = [], 0, False, history[0]
  for w in checkpoints(steps):
    count = np.sum(history[prev + 1:w + 1] > history[prev:w])
    best = history[:w + 1].max()
    h = bool(halving(jnp.array([count], jnp.float32), float(w - prev), rho,
                     jnp.array([reduced_last]), jnp.array([best]), jnp.array([best_last]))[0])
    halved.append(h)
    reduced_last, best_last, prev = h, best, w
  return halved


def test_halving_on_constructed_loss_histories():
  # steps 100: checkpoints 22, 41, 57, 70, 80, 87, 93, 99.
  rising = np.arange(101.0)
  assert _replay(rising, 100) == [False] * 8  # always improving: never halve
  flat = np.zeros(101)
  # Condition 2 also holds at the first checkpoint (no improvement on f(x^(0))),
  # then condition 1 at every one (no increase at all).
  assert _replay(flat, 100) == [True] * 8
  # Rises on 17 of the first 22 steps (> 0.75 * 22 = 16.5): no halving; on 16: halving.
  h17 = np.concatenate([[0], np.cumsum([1.0] * 17 + [-0.1] * 5), np.arange(100, 179)])
  h16 = np.concatenate([[0], np.cumsum([1.0] * 16 + [-0.1] * 6), np.arange(100, 179)])
  assert _replay(h17, 100)[0] is False and _replay(h16, 100)[0] is True
  # Condition 2: an oscillation that rises often enough (condition 1 false) but never
  # beats the best of the first interval. Halve at 41 (the step was kept at 22), then not
  # at 57 (it was just halved at 41), though the best is still stuck.
  saw = np.concatenate([np.arange(23.0), np.tile([0.0, 1.0], 40)[:78]])
  assert _replay(saw, 100)[:3] == [False, True, True]  # rises on half the steps: condition 1
  high = np.concatenate([np.arange(23.0), 5 + 0.01 * np.arange(78)])  # rising, below 22
  assert _replay(high, 100)[:3] == [False, True, False]


def _linear(w, b):
  return lambda x: x.reshape(x.shape[0], -1) @ w + b


def test_linear_model_reaches_the_closed_form_worst_case():
  # Two classes: CE rises with the margin (w_1 - w_0) . x, so the worst case in the
  # ball is x + eps * sign(w_1 - w_0) (Linf) or x + eps * d / ||d||_2 (L2); points
  # in the middle of the box and a small eps keep the box inactive and x_adv correct.
  key_w, key_x = jax.random.split(jax.random.key(0))
  w = jax.random.normal(key_w, (12, 2))
  b = jnp.array([5.0, 0.0])  # class 0 by a wide margin: no misclassification
  x = jax.random.uniform(key_x, (4, 3, 4, 1), minval=0.3, maxval=0.7)
  y = jnp.zeros(4, jnp.int32)
  logits_fn = _linear(w, b)
  d = (w[:, 1] - w[:, 0]).reshape(3, 4, 1)
  attack = APGD(eps=0.05, steps=100)
  x_adv = attack(logits_fn, x, y, key=jax.random.key(1))
  np.testing.assert_array_equal(logits_fn(x_adv).argmax(-1), 0)
  np.testing.assert_allclose(x_adv, x + 0.05 * jnp.sign(d), atol=1e-6)
  # L2: the iterates turn toward d on the sphere of radius eps, and the halvings
  # stop them at a small remaining angle (measured: at most 1.2e-4 of the score
  # d . delta, which CE rises with, below its maximum eps * ||d||_2).
  x_adv = attack.replace(eps=0.2, norm="l2")(logits_fn, x, y, key=jax.random.key(1))
  delta = (x_adv - x).reshape(4, -1)
  d, best = d.reshape(-1), 0.2 * jnp.linalg.norm(d)
  assert float(jnp.linalg.norm(delta, axis=1).max()) <= 0.2 * (1 + 1e-6)
  np.testing.assert_allclose(delta @ d, best, rtol=3e-4)
  np.testing.assert_allclose(delta, jnp.broadcast_to(0.2 * d / jnp.linalg.norm(d), delta.shape),
                             atol=5e-3)


def test_step_halving_converges_where_a_fixed_step_oscillates():
  # loss = -(x - 0.5)^2 through class 1's logit; the maximum x = 0.5 lies inside
  # the ball around 0.47. Sign steps of 2 * eps = 0.2 overshoot it forever, the
  # loss rises on about half the steps, so every one of the 8 checkpoints halves
  # the step (condition 1), down to 0.2 / 2^8 after the last one (w = 99); the best
  # point kept is within two steps of the last interval, 0.2 / 2^7, of the maximum
  # (a fixed step of 0.2 would only visit the grid 0.37 + k * 0.2 from its start).
  logits_fn = lambda x: jnp.stack(
      [jnp.zeros(x.shape[0]), -jnp.sum((x.reshape(x.shape[0], -1) - 0.5) ** 2, 1) - 5], 1)
  x = jnp.full((2, 1, 1, 1), 0.47)
  y = jnp.zeros(2, jnp.int32)
  res = _apgd_run.run(lambda logits: cross_entropy(logits, y), logits_fn, x, y,
                      apgd_lib._start(jax.random.key(0), x, 0.1, "linf"), eps=0.1, rho=0.75,
                      momentum=0.75, steps=100, norm="linf")
  np.testing.assert_allclose(res.step, 0.2 / 2 ** 8, rtol=1e-6)
  assert float(jnp.abs(res.x_best - 0.5).max()) <= 2 * 0.2 / 2 ** 7
  x_adv = APGD(eps=0.1, steps=100)(logits_fn, x, y, key=jax.random.key(0))
  np.testing.assert_array_equal(x_adv, res.x_best)  # the same run (key fold 0), best kept


def _wavy(key, d=12, c=5):
  """Logits periodic in each pixel: many local maxima, so the start matters."""
  k1, k2 = jax.random.split(key)
  w, b = jax.random.normal(k1, (d, c)), jax.random.normal(k2, (c,))
  return lambda x: 0.5 * jnp.sin(40 * x.reshape(x.shape[0], -1)) @ w + 2 * b


def test_restarts_keep_the_first_success_else_the_highest_loss():
  logits_fn = _wavy(jax.random.key(0))
  x = jax.random.uniform(jax.random.key(1), (64, 3, 4, 1))
  y = logits_fn(x).argmax(-1)
  y = y.at[:4].set((y[:4] + 1) % 5)  # 4 points misclassified at x: returned unchanged
  attack = APGD(eps=0.02, steps=10, n_restarts=3)
  key = jax.random.key(2)
  out = np.asarray(attack(logits_fn, x, y, key=key))
  np.testing.assert_array_equal(out[:4], x[:4])
  # Replay the three runs from the same starts and select by hand.
  loss_fn = lambda logits: cross_entropy(logits, y)
  runs = [_apgd_run.run(loss_fn, logits_fn, x, y,
                        apgd_lib._start(jax.random.fold_in(key, r), x, 0.02, "linf"),
                        eps=0.02, rho=0.75, momentum=0.75, steps=10, norm="linf")
          for r in range(3)]
  fooled = np.stack([np.asarray(r.fooled) for r in runs])
  assert 0 < fooled[:, 4:].any(0).mean() < 1  # some, not all, points broken
  assert (fooled[1:, 4:].any(0) & ~fooled[0, 4:]).any()  # a later restart breaks a new one
  for i in range(4, 64):
    hits = np.flatnonzero(fooled[:, i])
    if hits.size:
      expected = runs[hits[0]].x_fooled[i]
    else:
      expected = runs[int(np.argmax([r.loss_best[i] for r in runs]))].x_best[i]
    np.testing.assert_allclose(out[i], expected, atol=1e-6)  # XLA fuses differently
  # The first run is shared: one restart breaks a subset of what three break.
  single = attack.replace(n_restarts=1)(logits_fn, x, y, key=key)
  broken1 = np.asarray(logits_fn(single).argmax(-1) != y)
  broken3 = np.asarray(logits_fn(out).argmax(-1) != y)
  assert np.all(broken3[broken1]) and broken3.sum() > broken1.sum()


def test_apgdt_takes_true_labels_and_walks_the_ranked_targets():
  # Clean logits rank 0 (the true class), 1, 2, then 3 and 4. Class 1, the runner-up,
  # cannot overtake class 0 within the ball; class 2 can, by raising the mean of
  # pixels 1..40 by eps (the random start, mean noise ~0.03, does not).
  def logits_fn(x):
    f = x.reshape(x.shape[0], -1)
    low = jnp.full(x.shape[0], -1.0)
    return jnp.stack([jnp.ones(x.shape[0]), 0.9 + 0.1 * f[:, 0],
                      0.5 + 3 * jnp.mean(f[:, 1:], 1), low, low], 1)
  x = jnp.zeros((3, 41, 1, 1)) + 0.05
  y = jnp.zeros(3, jnp.int32)
  run = lambda n, labels: APGDT(eps=0.3, steps=10, n_target_classes=n)(
      logits_fn, x, labels, key=jax.random.key(0))
  # Only the runner-up targeted: no success, the highest-loss point is kept
  # (pixel 0 pushed to the ball's edge, toward class 1).
  first = run(1, y)
  np.testing.assert_array_equal(logits_fn(first).argmax(-1), 0)
  np.testing.assert_allclose(first[:, 0], 0.35, atol=1e-6)
  # The second-ranked target is reached.
  np.testing.assert_array_equal(logits_fn(run(2, y)).argmax(-1), 2)
  # y is the true label: a point already misclassified at x is returned as is.
  np.testing.assert_array_equal(run(2, jnp.full(3, 2, jnp.int32)), x)
  with pytest.raises(ValueError, match="n_target_classes"):
    run(5, y)


def test_bad_options_raise():
  with pytest.raises(ValueError, match="valid choices"):
    APGD(norm="l0")
  with pytest.raises(ValueError, match="eot_iter"):
    APGDT(eot_iter=0)
  with pytest.raises(ValueError, match="use_largereps"):
    APGD(norm="linf", use_largereps=True)
  with pytest.raises(ValueError, match="steps"):
    APGDT(norm="l1", steps=4, use_largereps=True)  # stages 2, 2, 0
  with pytest.raises(ValueError, match="valid choices"):
    APGD(loss="cw")
  with pytest.raises(ValueError, match="key"):
    APGD(eps=0.1, steps=2)(lambda x: x.reshape(2, -1)[:, :3], jnp.zeros((2, 3)),
                           jnp.zeros(2, jnp.int32))


def _scipy_l1_box(delta, x, eps):
  """min ||d - delta||^2 over ||d||_1 <= eps, 0 <= x + d <= 1, by SLSQP on
  d = p - m with p, m >= 0 (the L1 constraint becomes linear), started from a
  feasible point (the box projection scaled into the ball)."""
  n = delta.size
  r = lambda v: v[:n] - v[n:] - delta
  start = np.clip(delta, -x, 1 - x)
  start *= min(1.0, eps / max(np.abs(start).sum(), 1e-12))
  res = optimize.minimize(
      lambda v: np.sum(r(v) ** 2), np.concatenate([np.maximum(start, 0), np.maximum(-start, 0)]),
      method="SLSQP", jac=lambda v: np.concatenate([2 * r(v), -2 * r(v)]),
      bounds=[(0, 1 - c) for c in x] + [(0, c) for c in x],
      constraints=[{"type": "ineq", "fun": lambda v: eps - v.sum(),
                    "jac": lambda v: -np.ones(2 * n)}],
      options=dict(ftol=1e-12, maxiter=500))
  return res.x[:n] - res.x[n:]


def test_l1_box_projection_matches_a_numerical_minimiser():
  rng = np.random.default_rng(0)
  deltas, xs, radii = [], [], []
  for _ in range(24):
    x = rng.uniform(0, 1, 7)
    x[rng.random(7) < 0.3] = rng.choice([0.0, 1.0])  # coordinates with no room on a side
    deltas.append(rng.normal(0, 1, 7) * rng.choice([0.1, 1.0, 3.0]))
    xs.append(x)
    radii.append(rng.uniform(0.05, 3.0))
  deltas, xs, radii = map(np.asarray, (deltas, xs, radii))
  project = jax.jit(project_l1_box)
  ours = np.asarray(project(jnp.asarray(deltas, jnp.float32), jnp.asarray(xs, jnp.float32),
                                   jnp.asarray(radii, jnp.float32)))
  inside = 0
  for d, x, eps, p in zip(deltas, xs, radii, ours):
    ref = _scipy_l1_box(d, x, eps)
    # The objective is strictly convex: one minimiser, and ours is no worse.
    # (float32 against float64: agreement to ~1e-7 of the objective.)
    assert np.sum((p - d) ** 2) <= np.sum((ref - d) ** 2) * (1 + 1e-6) + 1e-6
    np.testing.assert_allclose(p, ref, atol=2e-5)
    inside += np.abs(np.clip(d, -x, 1 - x)).sum() <= eps
  assert 0 < inside < len(radii)  # both regimes: the box alone, and the L1 ball active
  # Feasible, idempotent, and the variational inequality of a projection:
  # (delta - P) . (z - P) <= 0 for feasible z (here z = 0 and z = P(other)).
  assert np.all(np.abs(ours).sum(1) <= radii * (1 + 1e-6))
  assert np.all(xs + ours >= -1e-7) and np.all(xs + ours <= 1 + 1e-7)
  again = project(jnp.asarray(ours), jnp.asarray(xs, jnp.float32), jnp.asarray(radii, jnp.float32))
  np.testing.assert_allclose(again, ours, atol=1e-6)
  assert np.all(np.sum((deltas - ours) * (0 - ours), 1) <= 1e-5)
  # Radius 0 is exactly 0; MNIST-sized rows stay on the sphere within float32 rounding.
  np.testing.assert_array_equal(project(jnp.ones((2, 5)), jnp.full((2, 5), 0.5), 0.0), 0)
  big = project(jax.random.normal(jax.random.key(0), (8, 784)),
                       jax.random.uniform(jax.random.key(1), (8, 784)), 15.0)
  np.testing.assert_allclose(jnp.abs(big).sum(1), 15.0, rtol=2e-6)


def _l1_optimum(w, x, eps):
  """max w . d over ||d||_1 <= eps, 0 <= x + d <= 1: greedy (a fractional
  knapsack) over coordinates by decreasing |w_i|, each moved toward sign(w_i)
  to its bound until the budget runs out."""
  best, budget = 0.0, eps
  for i in np.argsort(-np.abs(w)):
    room = 1 - x[i] if w[i] > 0 else x[i]
    move = min(room, budget)
    best, budget = best + abs(w[i]) * move, budget - move
  return best


def test_l1_apgd_reaches_the_greedy_optimum_on_a_linear_model():
  # Two classes; CE rises with the margin w . x (w = w_1 - w_0), class 0 held by a
  # bias of 12 (wide enough, and CE still resolves exp(-12) in float32): the best point in the L1 ball and the box is the greedy one, which
  # moves the 4-5 coordinates with the largest |w_i| (and room) to the box's edge.
  key_w, key_x = jax.random.split(jax.random.key(0))
  w = jax.random.normal(key_w, (40, 2))
  x = jax.random.uniform(key_x, (6, 40, 1, 1), minval=0.2, maxval=0.8)
  y = jnp.zeros(6, jnp.int32)
  logits_fn = _linear(w, jnp.array([12.0, 0.0]))
  d = np.asarray(w[:, 1] - w[:, 0])
  eps = 2.0
  for attack in (APGD(eps=eps, steps=100, norm="l1"),
                 APGD(eps=eps, steps=100, norm="l1", use_largereps=True)):
    x_adv = attack(logits_fn, x, y, key=jax.random.key(1))
    np.testing.assert_array_equal(logits_fn(x_adv).argmax(-1), 0)
    delta = np.asarray(x_adv - x).reshape(6, -1)
    assert np.all(np.abs(delta).sum(1) <= eps * (1 + 1e-6))
    optimum = np.array([_l1_optimum(d, row, eps) for row in np.asarray(x).reshape(6, -1)])
    # 4 of the 6 reach the optimum; 2 stop at 99.4% and 99.8% (99.1% and 99.6%
    # with the larger radii; measured, the same with 200 steps): the sparse step
    # takes the top-k of |grad| whatever the box, and once k has shrunk to
    # coordinates already at their bound it moves nothing the projection keeps,
    # so the partly moved coordinates of the knapsack never grow (the reference's
    # step has the same blind spot).
    ratio = delta @ d / optimum
    assert np.all(ratio > 0.99) and np.all(ratio < 1 + 1e-5), ratio
    assert np.sum(ratio > 1 - 1e-5) >= 4, ratio


def test_sparse_direction_moves_the_top_k_coordinates():
  g = jnp.array([[0.1, -3.0, 2.0, 0.0, -0.5, 1.0, 0.2, -0.3, 0.05, 4.0]])
  # topk 0.3: rank floor(0.7 * 10) = 7 of the ascending |g| (1.0, 2.0, 3.0, 4.0 from rank 6).
  step = _apgd_l1.sparse_direction(g, jnp.array([0.3]))
  np.testing.assert_allclose(step, [[0, -1 / 3, 1 / 3, 0, 0, 0, 0, 0, 0, 1 / 3]])
  np.testing.assert_array_equal(_apgd_l1.sparse_direction(jnp.zeros((1, 10)), jnp.array([0.2])), 0)


def test_l1_schedule_resets_or_shrinks_the_step_at_checkpoints():
  # Checkpoints every 4% of the budget; stage lengths of the larger radii.
  assert [_apgd_l1.l1_check_interval(n) for n in (10, 25, 50, 100)] == [1, 1, 2, 4]
  assert _apgd_l1.largereps_schedule(100) == ((3.0, 2.0, 1.0), (30, 30, 40))
  assert _apgd_l1.largereps_schedule(10)[1] == (3, 3, 4)
  # A flat loss keeps x_best at the start. Its sparsity (a few of the 50 pixels:
  # the start is sparse) is below 95% of the initial d at the first checkpoint,
  # which resets the step to eps; then it never falls, so every later checkpoint
  # (each iteration here) divides the step by 1.5, down to the floor eps / 10.
  flat = lambda x: jnp.zeros((x.shape[0], 2))
  x = jnp.full((2, 50, 1, 1), 0.5)
  y = jnp.zeros(2, jnp.int32)
  x0 = apgd_lib._start(jax.random.key(0), x, 1.0, "l1")
  run = lambda steps: _apgd_l1.run_l1(lambda logits: cross_entropy(logits, y), flat, x, y, x0,
                                       eps=1.0, steps=steps)
  np.testing.assert_allclose(run(3).step, 1.0 / 1.5 ** 2, rtol=1e-6)
  np.testing.assert_allclose(run(25).step, 0.1, rtol=1e-6)
  np.testing.assert_array_equal(run(25).x_best, x0)
  # Handed a start (from_init, as the larger radii do), the reference sparsity is
  # the start's own: no reset, three divisions.
  res = _apgd_l1.run_l1(lambda logits: cross_entropy(logits, y), flat, x, y, x0, eps=1.0,
                         steps=3, from_init=True)
  np.testing.assert_allclose(res.step, 1.0 / 1.5 ** 3, rtol=1e-6)


def _noisy_linear(w, sigma):
  """logits = x . (W + sigma * N): a randomized linear model, unbiased in W."""
  return lambda x, key: x.reshape(x.shape[0], -1) @ (w + sigma * jax.random.normal(key, w.shape))


def test_eot_averages_loss_and_gradient_over_draws():
  w = jax.random.normal(jax.random.key(0), (12, 2))
  x = jax.random.uniform(jax.random.key(1), (3, 12))
  margin = lambda logits: logits[:, 1] - logits[:, 0]  # linear: grad = W_1 - W_0 + noise
  model = _noisy_linear(w, 1.0)
  key = jax.random.key(2)
  loss, logits, grad = _apgd_run.objective(margin, model, 10, key)(x, 5)
  # By hand: the draws fold_in(fold_in(key, t), j), j < 10.
  draws = [jax.random.fold_in(jax.random.fold_in(key, 5), j) for j in range(10)]
  by_hand = [jax.grad(lambda z: jnp.sum(margin(model(z, k))))(x) for k in draws]
  np.testing.assert_allclose(grad, np.mean(by_hand, 0), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(loss, np.mean([margin(model(x, k)) for k in draws], 0), rtol=1e-5,
                             atol=1e-5)
  np.testing.assert_allclose(logits, model(x, draws[-1]), rtol=1e-6)  # success check: last draw
  # The gradient's noise shrinks as 1 / sqrt(eot_iter) around the clean gradient.
  clean = w[:, 1] - w[:, 0]
  spread = lambda n: float(jnp.mean(jax.jit(jax.vmap(lambda t: jnp.linalg.norm(
      _apgd_run.objective(margin, model, n, key)(x, t)[2][0] - clean)))(jnp.arange(30))))
  ratio = spread(2) / spread(32)
  assert 3.0 < ratio < 5.5, ratio  # sqrt(32 / 2) = 4
  # eot_iter = 1 calls the deterministic logits_fn(x) once, key unused.
  det = lambda z: z @ w
  _, _, g1 = _apgd_run.objective(margin, det, 1, None)(x, 0)
  np.testing.assert_allclose(g1, jnp.broadcast_to(clean, x.shape), rtol=1e-6)


def test_eot_apgd_follows_the_mean_model_better_with_more_draws():
  # Weight noise of sigma 2 against |W| ~ 1: sign steps from 2 draws often point
  # the wrong way, the mean over 32 draws follows W. APGD on the margin (linear
  # in the logits, so the mean model's optimum is known: x + eps sign(W_1 - W_0),
  # the box inactive in [0.3, 0.7]); score: the margin gained, as a fraction of
  # that optimum. Measured: 0.69 (2 draws), 0.96 (32 draws).
  w = jax.random.normal(jax.random.key(0), (20, 2))
  model = _noisy_linear(w, 2.0)
  x = jax.random.uniform(jax.random.key(1), (64, 20, 1, 1), minval=0.3, maxval=0.7)
  y = jnp.zeros(64, jnp.int32)
  clean = np.asarray(w[:, 1] - w[:, 0])
  margin = lambda logits: logits[:, 1] - logits[:, 0]
  x0 = apgd_lib._start(jax.random.key(2), x, 0.1, "linf")

  def score(eot_iter):
    res = _apgd_run.run(margin, model, x, y, x0, eps=0.1, rho=0.75, momentum=0.75, steps=20,
                        norm="linf", eot_iter=eot_iter, key=jax.random.key(3))
    return float(np.mean(np.asarray(res.x_best - x).reshape(64, -1) @ clean)) / (
        0.1 * np.abs(clean).sum())

  few, many = score(2), score(32)
  assert many > 0.9 and many > few + 0.15, (few, many)
