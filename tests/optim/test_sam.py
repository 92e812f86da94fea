"""SAM, ASAM and PSATT transforms: parity with optax.contrib.sam, formulas, edge cases."""

import chex
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from jaxrobust.optim.psatt import PSATTState, psatt, psatt_clean_params
from jaxrobust.optim.sam import SAMState, asam, sam, sam_gradient
from jaxrobust.train.optimizers import make_optimizer

A = jnp.diag(jnp.array([1.0, 10.0]))


def quadratic(w, batch=None):
  del batch
  return 0.5 * w @ A @ w


def run(tx, loss, w0, steps, optax_sam=False):
  """Iterates of tx on loss (whole loop under jit), with grad_fn passed."""
  grad = jax.grad(loss)

  def step(carry, _):
    w, state = carry
    grad_fn = (lambda p, _: grad(p)) if optax_sam else grad
    updates, state = tx.update(grad(w), state, w, grad_fn=grad_fn)
    w = optax.apply_updates(w, updates)
    return (w, state), w

  @jax.jit
  def go(w0):
    return jax.lax.scan(step, (w0, tx.init(w0)), None, length=steps)

  (w, state), ws = go(w0)
  return w, state, ws


def optax_reference(base, rho):
  """optax.contrib.sam configured as plain SAM (Foret et al.): one normalised
  ascent step of length rho, then the base update at the original weights."""
  adversary = optax.chain(optax.contrib.normalize(), optax.sgd(rho))
  return optax.contrib.sam(base, adversary, sync_period=2, opaque_mode=True)


def test_sam_asam_psatt_converge_on_a_quadratic():
  w0 = jnp.array([1.0, 1.0])
  for tx in (sam(optax.sgd(0.05), 0.01), asam(optax.sgd(0.05), 0.05),
             psatt(optax.sgd(0.05), 0.01)):
    w, state, _ = run(tx, quadratic, w0, 300)
    if isinstance(state, PSATTState):
      w = psatt_clean_params(w, state)
    # SAM's constant-radius step keeps it O(lr * rho * curvature) from 0.
    assert float(quadratic(w)) < 1e-4 * float(quadratic(w0)), (tx, w)


def test_sam_matches_optax_contrib_sam_on_a_quadratic():
  w0 = jnp.array([1.0, -0.5])
  ours = run(sam(optax.sgd(0.05), 0.1), quadratic, w0, 50)[2]
  ref = run(optax_reference(optax.sgd(0.05), 0.1), quadratic, w0, 50, optax_sam=True)[2]
  np.testing.assert_allclose(ours, ref, atol=1e-5)
  # ... and is not the base optimizer (the comparison can fail).
  base = run(optax.sgd(0.05), quadratic, w0, 50)[2]
  assert np.abs(np.asarray(ours) - np.asarray(base)).max() > 1e-2


def _mlp_problem():
  kx, ky, k1, k2 = jax.random.split(jax.random.key(0), 4)
  x = jax.random.normal(kx, (32, 4))
  y = jnp.sin(x.sum(1, keepdims=True)) + 0.1 * jax.random.normal(ky, (32, 1))
  params = {"w1": 0.5 * jax.random.normal(k1, (4, 16)), "b1": jnp.zeros(16),
            "w2": 0.5 * jax.random.normal(k2, (16, 1)), "b2": jnp.zeros(1)}

  def loss(p):
    h = jnp.tanh(x @ p["w1"] + p["b1"])
    return jnp.mean((h @ p["w2"] + p["b2"] - y) ** 2)

  return params, loss


def test_sam_matches_optax_contrib_sam_on_a_small_mlp_with_adam():
  params, loss = _mlp_problem()
  ours, _, _ = run(sam(optax.adam(1e-2), 0.05), loss, params, 30)
  ref, _, _ = run(optax_reference(optax.adam(1e-2), 0.05), loss, params, 30, optax_sam=True)
  chex.assert_trees_all_close(ours, ref, atol=1e-5)
  base, _, _ = run(optax.adam(1e-2), loss, params, 30)
  gap = max(float(jnp.abs(a - b).max()) for a, b in
            zip(jax.tree.leaves(ours), jax.tree.leaves(base)))
  assert gap > 1e-3
  assert float(loss(ours)) < 0.5 * float(loss(params))


def test_asam_step_matches_its_formula_by_hand():
  # L(w) = 0.5 (a w1^2 + b w2^2); w = (2, -0.5), rho = 0.5, eta = 0.01, SGD lr 0.1.
  a, b, rho, eta, lr = 1.0, 10.0, 0.5, 0.01, 0.1
  w = np.array([2.0, -0.5])
  g = np.array([a * w[0], b * w[1]])                     # (2, -5)
  t = np.abs(w) + eta                                    # (2.01, 0.51)
  e = rho * t ** 2 * g / np.linalg.norm(t * g)
  w_adv = w + e
  expected = w - lr * np.array([a * w_adv[0], b * w_adv[1]])
  tx = asam(optax.sgd(lr), rho, eta=eta)
  params = jnp.asarray(w, jnp.float32)
  updates, _ = tx.update(jax.grad(quadratic)(params), tx.init(params), params,
                         grad_fn=jax.grad(quadratic))
  np.testing.assert_allclose(optax.apply_updates(params, updates), expected, rtol=1e-6)
  # SAM's e would differ: ASAM moves w2 (small |w2|) relatively less.
  e_sam = rho * g / np.linalg.norm(g)
  assert abs(e[1] / e[0]) < abs(e_sam[1] / e_sam[0])


def test_sam_gradient_is_the_gradient_at_the_perturbed_point():
  w = jnp.array([1.0, 0.3])
  g = np.array([1.0, 3.0])
  w_adv = np.asarray(w) + 0.2 * g / np.linalg.norm(g)
  np.testing.assert_allclose(sam_gradient(quadratic, w, None, 0.2),
                             np.asarray(A) @ w_adv, rtol=1e-6)
  # Unnormalised (Kim et al.'s analysis): w + rho g.
  np.testing.assert_allclose(sam_gradient(quadratic, w, None, 0.2, normalize=False),
                             np.asarray(A) @ (np.asarray(w) + 0.2 * g), rtol=1e-6)


def _psatt_by_hand(base, rho, direction, steps, w0):
  """PSATT written out (the authors' DPSATMomentum loop, github.com/JinseongP/DPSAT):
  gradient at w + e, base step on the clean w, then the new e. Returns the
  clean weights and perturbations [steps, 2]."""
  clean, e, inner = np.asarray(w0, np.float64), np.zeros(2), base.init(jnp.asarray(w0))
  cleans, es = [], []
  for _ in range(steps):
    g = np.asarray(A) @ (clean + e)            # the one gradient, at the iterate w + e
    u, inner = base.update(jnp.asarray(g, jnp.float32), inner, jnp.asarray(clean, jnp.float32))
    previous, clean = clean, clean + np.asarray(u, np.float64)
    d = previous - clean if direction == "update" else g
    e = rho * d / np.linalg.norm(d)
    cleans.append(clean)
    es.append(e)
  return np.array(cleans), np.array(es)


@pytest.mark.parametrize("direction", ["update", "gradient"])
def test_psatt_matches_its_rule_by_hand_with_one_gradient_per_step(direction):
  rho = 0.2

  def never(_):
    raise AssertionError("psatt must not take a second gradient")

  for base in (optax.sgd(0.1), optax.adam(0.1)):
    tx = psatt(base, rho, direction=direction)
    w = jnp.array([1.0, 1.0])
    state = tx.init(w)
    cleans, es = _psatt_by_hand(base, rho, direction, 4, w)
    for clean, e in zip(cleans, es):
      updates, state = tx.update(jax.grad(quadratic)(w), state, w, grad_fn=never)
      w = optax.apply_updates(w, updates)
      np.testing.assert_allclose(w, clean + e, rtol=1e-5, atol=1e-6)
      np.testing.assert_allclose(psatt_clean_params(w, state), clean, rtol=1e-5, atol=1e-6)


def test_psatt_default_reuses_the_previous_update_which_is_the_gradient_only_for_plain_sgd():
  w0 = jnp.array([1.0, 1.0])
  # Plain SGD: w_{t-1} - w_t = lr g_{t-1}, so the two rules are one.
  by_update = run(psatt(optax.sgd(0.05), 0.1), quadratic, w0, 20)[2]
  by_gradient = run(psatt(optax.sgd(0.05), 0.1, direction="gradient"), quadratic, w0, 20)[2]
  np.testing.assert_allclose(by_update, by_gradient, rtol=1e-6, atol=1e-7)
  # Adam: the update is not along the gradient, and the default follows the update.
  tx = psatt(optax.adam(0.05), 0.1)
  _, state, ws = run(tx, quadratic, w0, 20)
  _, es = _psatt_by_hand(optax.adam(0.05), 0.1, "update", 20, w0)
  cleans = np.asarray(ws) - es
  steps_back = cleans[:-1] - cleans[1:]        # w_{t-1} - w_t, t = 1..19
  np.testing.assert_allclose(es[1:], 0.1 * steps_back
                             / np.linalg.norm(steps_back, axis=1, keepdims=True), rtol=1e-4)
  np.testing.assert_allclose(state.perturbation, es[-1], rtol=1e-4)
  by_gradient = run(psatt(optax.adam(0.05), 0.1, direction="gradient"), quadratic, w0, 20)[2]
  assert np.abs(np.asarray(ws) - np.asarray(by_gradient)).max() > 1e-2
  _, es_gradient = _psatt_by_hand(optax.adam(0.05), 0.1, "gradient", 20, w0)
  cosines = np.sum(es * es_gradient, axis=1) / 0.1 ** 2
  assert cosines.max() < 0.9  # measured: 0.75-0.77, the directions ~40 degrees apart


def test_psatt_refreshes_its_direction_every_period_steps():
  tx = psatt(optax.sgd(0.1), 0.2, period=3)
  w, state = jnp.array([1.0, 1.0]), None
  state = tx.init(w)
  seen = []
  for _ in range(6):
    updates, state = tx.update(jax.grad(quadratic)(w), state, w)
    w = optax.apply_updates(w, updates)
    seen.append(np.asarray(state.perturbation))
  np.testing.assert_array_equal(seen[0], seen[1])
  np.testing.assert_array_equal(seen[1], seen[2])
  assert np.abs(seen[3] - seen[2]).max() > 1e-4
  np.testing.assert_array_equal(seen[3], seen[5])
  np.testing.assert_allclose(np.linalg.norm(seen[4]), 0.2, rtol=1e-5)


def test_states_keep_their_shapes_under_jit_and_compile_once():
  params, loss = _mlp_problem()
  grad = jax.grad(loss)
  for tx in (sam(optax.adam(1e-2), 0.05), asam(optax.sgd(0.1, momentum=0.9), 0.5),
             psatt(optax.adam(1e-2), 0.05, period=2)):
    @jax.jit
    def step(p, s):
      u, s = tx.update(grad(p), s, p, grad_fn=grad)
      return optax.apply_updates(p, u), s

    state0 = tx.init(params)
    p, s = step(params, state0)
    p, s = step(p, s)
    chex.assert_trees_all_equal_shapes_and_dtypes(s, state0)
    assert jax.tree.structure(s) == jax.tree.structure(state0)
    assert isinstance(s, (SAMState, PSATTState))
    assert step._cache_size() == 1


@pytest.mark.parametrize("make", [
    lambda base: sam(base, 0.0), lambda base: asam(base, 0), lambda base: psatt(base, 0.0)])
def test_rho_zero_is_the_base_optimizer_exactly(make):
  params, loss = _mlp_problem()

  def never(_):
    raise AssertionError("rho = 0 must not take a second gradient")

  grad = jax.grad(loss)
  base = optax.adam(1e-2)
  tx = make(optax.adam(1e-2))
  p, s, q, r = params, tx.init(params), params, base.init(params)
  for _ in range(3):
    u, s = tx.update(grad(p), s, p, grad_fn=never)
    p = optax.apply_updates(p, u)
    v, r = base.update(grad(q), r, q)
    q = optax.apply_updates(q, v)
  chex.assert_trees_all_equal(p, q)


def test_make_optimizer_leaves_the_base_unchanged_for_rho_zero():
  config = ml_collections.ConfigDict({
      "name": "adam", "learning_rate": 1e-3, "schedule": "constant", "weight_decay": 0.0,
      "sam": {"rho": 0.0, "kind": "sam"}})
  params = {"w": jnp.ones(3)}
  assert not isinstance(make_optimizer(config, 10).init(params), SAMState)
  config.sam.rho = 0.05
  assert isinstance(make_optimizer(config, 10).init(params), SAMState)
  config.sam.kind = "asam"
  assert isinstance(make_optimizer(config, 10).init(params), SAMState)
  config.sam.kind = "psatt"
  config.sam.period = 2
  assert isinstance(make_optimizer(config, 10).init(params), PSATTState)
  config.sam.direction = "sideways"  # the config's direction reaches psatt
  with pytest.raises(ValueError, match="direction"):
    make_optimizer(config, 10)


def test_bad_hyperparameters_raise_clear_errors():
  with pytest.raises(ValueError, match="rho must be"):
    sam(optax.sgd(0.1), -0.1)
  with pytest.raises(ValueError, match="rho must be"):
    asam(optax.sgd(0.1), -1.0)
  with pytest.raises(ValueError, match="eta must be"):
    asam(optax.sgd(0.1), 0.5, eta=-0.01)
  for period in (0, -1, 1.5, True):
    with pytest.raises(ValueError, match="period must be an integer >= 1"):
      psatt(optax.sgd(0.1), 0.05, period=period)
  with pytest.raises(ValueError, match="rho must be"):
    psatt(optax.sgd(0.1), -0.05)
  with pytest.raises(ValueError, match="direction.*valid choices.*update.*gradient"):
    psatt(optax.sgd(0.1), 0.05, direction="momentum")
  tx = sam(optax.sgd(0.1), 0.05)
  w = jnp.ones(2)
  with pytest.raises(ValueError, match="grad_fn"):
    tx.update(w, tx.init(w), w)
  config = ml_collections.ConfigDict({
      "name": "sgd", "learning_rate": 0.1, "schedule": "constant", "weight_decay": 0.0,
      "sam": {"rho": 0.05, "kind": "gsam"}})
  with pytest.raises(ValueError, match="valid choices.*asam.*psatt"):
    make_optimizer(config, 10)
  config.sam.kind, config.sam.rho = "sam", -0.5
  with pytest.raises(ValueError, match=r"optimizer.sam.rho must be finite and >= 0, got -0.5"):
    make_optimizer(config, 10)


def test_zero_gradients_give_no_nan():
  w = jnp.array([1.0, -2.0])
  zero = jnp.zeros(2)
  for tx in (sam(optax.adam(1e-2), 0.05), asam(optax.sgd(0.1), 0.5),
             psatt(optax.sgd(0.1), 0.05)):
    updates, state = tx.update(zero, tx.init(w), w, grad_fn=lambda p: jnp.zeros_like(p))
    chex.assert_tree_all_finite((updates, state))
    np.testing.assert_array_equal(updates, zero)
  np.testing.assert_array_equal(sam_gradient(lambda p, _: 0.0 * p.sum(), w, None, 0.1), zero)
