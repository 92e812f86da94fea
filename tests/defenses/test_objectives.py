"""TRADES, MART, BAT, fast AT (+ CO fix), GradAlign, AWP and logit squeezing:
values checked by hand on a tiny linear model, limits, and config errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust.attacks import PGD, TPGD
from jaxrobust.defenses.registry import DEFENSES
from jaxrobust.defenses.awp import AWP, relative_perturbation
from jaxrobust.defenses.bat import BAT
from jaxrobust.defenses.fast_at import (FastAT, fgsm_point_and_start_logits,
                                        smallest_misclassified)
from jaxrobust.defenses.gradalign import GradAlign, gradient_misalignment
from jaxrobust.defenses.logit_squeeze import LogitSqueeze
from jaxrobust.defenses.mart import MART
from jaxrobust.defenses.pgd_at import PGDAT
from jaxrobust.defenses.trades import TRADES
from jaxrobust.losses import cross_entropy

W = np.asarray(jax.random.normal(jax.random.key(0), (12, 4)), np.float64)


def _logits_fn(w):
  return lambda x: x.reshape(x.shape[0], -1) @ w


def _batch():
  x = jax.random.uniform(jax.random.key(1), (8, 2, 2, 3))
  y = jnp.arange(8) % 4
  x_adv = jnp.clip(x + 0.1 * jnp.sign(jax.random.normal(jax.random.key(2), x.shape)), 0, 1)
  return x, x_adv, y


# Hand formulas in float64 numpy, written from the papers' equations.
def _softmax(z):
  e = np.exp(z - z.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def _kl(p, q):
  return np.sum(p * (np.log(p) - np.log(q)), -1)


def _np(x, x_adv, y):
  f = lambda z: np.asarray(z, np.float64).reshape(len(z), -1) @ W
  return _softmax(f(x)), _softmax(f(x_adv)), np.asarray(y)


def test_trades_loss_matches_its_formula():
  x, x_adv, y = _batch()
  p, q, yy = _np(x, x_adv, y)
  expected = -np.log(p[np.arange(8), yy]) + 6.0 * _kl(p, q)
  loss, metrics = TRADES(attack=TPGD(eps=0.1), beta=6.0).loss_at(_logits_fn(W), x, x_adv, y)
  np.testing.assert_allclose(loss, expected, rtol=2e-5)
  np.testing.assert_allclose(metrics["kl"], _kl(p, q), rtol=1e-4, atol=1e-7)


def test_trades_and_bat_with_zero_eps_are_clean_cross_entropy():
  x, _, y = _batch()
  clean = cross_entropy(_logits_fn(W)(x), y)
  zero = TPGD(eps=0.0, step_size=0.01, steps=2)
  for defense in (TRADES(attack=zero), BAT(attack=zero, bridges=3),
                  BAT(attack=PGD(eps=0.0, step_size=0.01, steps=2), bridges=3)):
    loss, _ = defense(_logits_fn(W), _logits_fn(W), x, y, key=jax.random.key(0))
    np.testing.assert_allclose(loss, clean, rtol=1e-6)


def test_mart_loss_matches_its_formula():
  x, x_adv, y = _batch()
  p, q, yy = _np(x, x_adv, y)
  rows = np.arange(8)
  other = np.where(np.eye(4)[yy] > 0, -np.inf, q).max(-1)
  bce = -np.log(q[rows, yy]) - np.log(1 - other)
  expected = bce + 5.0 * _kl(p, q) * (1 - p[rows, yy])
  loss, _ = MART(beta=5.0).loss_at(_logits_fn(W), x, x_adv, y)
  np.testing.assert_allclose(loss, expected, rtol=2e-5)


def test_bat_with_one_bridge_is_trades_and_two_bridges_sum_consecutive_kls():
  x, x_adv, y = _batch()
  bat1, _ = BAT(beta=6.0, bridges=1).loss_at(_logits_fn(W), x, x_adv, y)
  trades, _ = TRADES(beta=6.0).loss_at(_logits_fn(W), x, x_adv, y)
  np.testing.assert_allclose(bat1, trades, rtol=1e-5)
  mid = (np.asarray(x) + np.asarray(x_adv)) / 2
  p0, p1, yy = _np(x, x_adv, y)
  _, pm, _ = _np(x, mid, y)
  expected = -np.log(p0[np.arange(8), yy]) + 2.0 * (_kl(p0, pm) + _kl(pm, p1))
  bat2, _ = BAT(beta=2.0, bridges=2).loss_at(_logits_fn(W), x, x_adv, y)
  np.testing.assert_allclose(bat2, expected, rtol=2e-5)
  # delta = 0: every bridge term vanishes.
  bat0, _ = BAT(beta=6.0, bridges=4).loss_at(_logits_fn(W), x, x, y)
  np.testing.assert_allclose(bat0, cross_entropy(_logits_fn(W)(x), y), rtol=1e-6)


def test_co_fix_picks_the_smallest_misclassified_point():
  # Two classes, logits (0, x_0 - threshold): class 1 wins once x_0 > threshold.
  thresholds = jnp.array([0.25, 0.55, 2.0, 0.05, 0.05])
  calls = []

  def logits_fn(z):  # the fix evaluates k = 1..c-1 in one call, k-major
    calls.append(z.shape[0])
    return jnp.stack([jnp.zeros(len(z)), z[:, 0] - jnp.tile(thresholds, len(z) // 5)], -1)

  x = jnp.zeros((5, 3))
  x_adv = jnp.ones((5, 3))  # d = 1: points k / 4 = 0.25, 0.5, 0.75 (checked), 1.0
  y = jnp.zeros(5, jnp.int32)
  start_wrong = jnp.array([False, False, False, False, True])
  points, k = smallest_misclassified(logits_fn, x, x_adv, y, 4, start_wrong)
  assert calls == [3 * 5]  # the full step k = c is the fallback, never evaluated
  # 0.25 is not > 0.25, so example 0 first fails at 0.5; example 2 never: full step;
  # example 4 is already wrong where the step started: trained on x itself.
  np.testing.assert_array_equal(k, [2, 3, 4, 1, 0])
  np.testing.assert_allclose(points[:, 0], [0.5, 0.75, 1.0, 0.25, 0.0])
  np.testing.assert_allclose(points[:, 1:], points[:, :1].repeat(2, 1))
  # c = 1 checks nothing: the plain step, or x where the start is wrong.
  points1, k1 = smallest_misclassified(logits_fn, x, x_adv, y, 1, start_wrong)
  np.testing.assert_array_equal(k1, [1, 1, 1, 1, 0])
  np.testing.assert_allclose(points1[:, 0], [1, 1, 1, 1, 0])


def test_fast_at_steps_inside_the_ball_and_the_fix_never_goes_further():
  x, _, y = _batch()
  key = jax.random.key(3)
  logits_fn = _logits_fn(W)
  plain = FastAT(eps=0.1, co_checkpoints=0).adversarial_inputs(logits_fn, x, y, key=key)
  fixed = FastAT(eps=0.1, co_checkpoints=4).adversarial_inputs(logits_fn, x, y, key=key)
  assert float(jnp.abs(plain - x).max()) <= 0.1 + 1e-6
  assert float(jnp.abs(plain - x).max()) > 0.09
  # Fixed points lie on the segment from x to the plain point (x itself included).
  ratio = jnp.where(jnp.abs(plain - x) > 1e-6, (fixed - x) / (plain - x), 1.0)
  assert float(ratio.min()) >= -1e-6 and float(ratio.max()) <= 1 + 1e-5
  # Examples misclassified at the random start (same key: same start) get x back.
  step, start_logits = fgsm_point_and_start_logits(logits_fn, x, y, 0.1, 1.25, True, key)
  np.testing.assert_allclose(step, plain)
  start_wrong = np.asarray(start_logits.argmax(-1) != y)
  assert start_wrong.any() and not start_wrong.all()
  np.testing.assert_allclose(fixed[start_wrong], x[start_wrong])
  assert float(jnp.abs(fixed - x)[~start_wrong].max()) > 0.02


def test_gradalign_penalty_is_zero_for_aligned_gradients_and_trains_second_order():
  # Two-class linear model: every input gradient is a multiple of w_1 - w_0.
  w = jnp.asarray(W[:, :2], jnp.float32)
  x, _, _ = _batch()
  y = jnp.zeros(8, jnp.int32)
  penalty = gradient_misalignment(_logits_fn(w), x, y, jax.random.key(0), 0.1)
  np.testing.assert_allclose(penalty, 0.0, atol=1e-5)
  # A nonlinear model has misaligned gradients and a parameter gradient of the penalty.
  v = jnp.asarray(W[:, :3], jnp.float32)
  nonlinear = lambda w: (lambda z: jnp.tanh(3 * z.reshape(z.shape[0], -1) @ w) @ v.T @ w)
  g = jax.grad(lambda w: gradient_misalignment(nonlinear(w), x, jnp.arange(8) % 3,
                                               jax.random.key(0), 0.3).mean())(v)
  assert float(jnp.abs(g).max()) > 0
  loss, m = GradAlign(eps=0.1, lam=0.5)(_logits_fn(w), _logits_fn(w), x, y,
                                         key=jax.random.key(1))
  assert loss.shape == (8,) and np.all(np.isfinite(loss))


def test_awp_perturbation_has_relative_norm_gamma_per_weight_tensor():
  params = {"dense": {"kernel": jnp.asarray(W, jnp.float32), "bias": jnp.ones(4)},
            "conv": {"kernel": jax.random.normal(jax.random.key(5), (3, 3, 2, 4))}}
  grads = jax.tree.map(lambda p: jax.random.normal(jax.random.key(6), p.shape), params)
  v = relative_perturbation(grads, params, 0.01)
  for name in ("dense", "conv"):
    np.testing.assert_allclose(jnp.linalg.norm(v[name]["kernel"]),
                               0.01 * jnp.linalg.norm(params[name]["kernel"]), rtol=1e-5)
    cos = jnp.vdot(v[name]["kernel"], grads[name]["kernel"]) / (
        jnp.linalg.norm(v[name]["kernel"]) * jnp.linalg.norm(grads[name]["kernel"]))
    np.testing.assert_allclose(cos, 1.0, rtol=1e-5)  # along the ascent direction
  np.testing.assert_array_equal(v["dense"]["bias"], 0.0)


def test_logit_squeeze_adds_the_logit_norm():
  x, _, y = _batch()
  logits = _logits_fn(W)(x)
  loss, m = LogitSqueeze(attack=None, squeeze=0.5)(_logits_fn(W), _logits_fn(W), x, y,
                                                   key=jax.random.key(0))
  np.testing.assert_allclose(loss, cross_entropy(logits, y) + 0.5 * jnp.linalg.norm(
      logits, axis=-1), rtol=1e-5)


def test_logit_squeeze_gradient_is_finite_at_all_zero_logits():
  x, _, y = _batch()  # zero weights: a linear model's logits are all zero
  loss = lambda w: LogitSqueeze(attack=None).loss_at(_logits_fn(w), x, x, y)[0].mean()
  grad = jax.grad(loss)(jnp.zeros((12, 4)))
  assert np.all(np.isfinite(grad)) and float(jnp.abs(grad).max()) > 0  # CE's part


@pytest.mark.parametrize("name, options, match", [
    ("bat", {"bridges": 0}, "bridges"),
    ("bat", {"inner": "ce"}, "valid options.*attack"),
    ("awp", {"awp_base": "trades"}, "valid options.*base"),
    ("awp", {"gamma": -1.0}, "gamma"),
    ("fast_at", {"co_checkpoints": -1}, "co_checkpoints"),
    ("fast_at", {"eps": -0.1}, "eps"),
    ("trades", {"attack": TPGD(eps=-0.1)}, "TRADES.attack: eps must be"),
    ("mart", {"attack": PGD(step_size=-1.0)}, "step_size"),
    ("trades", {"beta": -1.0}, "TRADES.beta"),
    ("gradalign", {"lam": -1.0}, "lam"),
    ("logit_squeeze", {"squeeze": -1.0}, "squeeze"),
])
def test_bad_options_raise_clear_errors(name, options, match):
  with pytest.raises(ValueError, match=match):
    DEFENSES.make(name, **options)


def test_awp_base_is_a_defense_section_and_awp_has_no_other_options():
  attack = {"name": "tpgd", "eps": 0.1, "step_size": 0.025, "steps": 3}
  trades = {"name": "trades", "attack": attack, "beta": 3.0}
  awp = DEFENSES.from_config({"name": "awp", "base": trades})
  assert isinstance(awp, AWP) and isinstance(awp.base, TRADES) and awp.base.beta == 3.0
  assert awp.attack == awp.base.attack == TPGD(eps=0.1, step_size=0.025, steps=3)
  with pytest.raises(ValueError, match="for defense 'awp'.*valid options: .'base', 'gamma'"):
    DEFENSES.from_config({"name": "awp", "base": trades, "beta": 3.0})
  with pytest.raises(TypeError, match="AWP's base.*got FastAT"):
    DEFENSES.from_config({"name": "awp", "base": {"name": "fast_at"}})


def test_defaults_are_the_papers():
  pgd = PGD(eps=0.3, step_size=0.01, steps=10, norm="linf", random_start=True)
  tpgd = TPGD(eps=0.3, step_size=0.01, steps=10)
  # BAT's authors default to PGD on cross-entropy (their loss='ce'), not TRADES' TPGD.
  assert PGDAT().attack == MART().attack == LogitSqueeze().attack == BAT().attack == pgd
  assert TRADES().attack == tpgd
  assert (TRADES().beta, MART().beta, BAT().beta, BAT().bridges) == (6.0, 6.0, 6.0, 5)
  assert AWP() == AWP(base=PGDAT(attack=pgd), gamma=5e-3)


def test_awp_at_unperturbed_weights_is_its_base_loss():
  x, _, y = _batch()
  trades = TRADES(attack=TPGD(eps=0.1, step_size=0.03, steps=3), beta=4.0)
  key = jax.random.key(7)
  f = _logits_fn(jnp.asarray(W, jnp.float32))
  expected, expected_metrics = trades(f, f, x, y, key=key)
  loss, metrics = AWP(base=trades, gamma=0.5)(f, f, x, y, key=key)
  np.testing.assert_array_equal(loss, expected)
  jax.tree.map(np.testing.assert_array_equal, metrics, expected_metrics)
  x_adv = AWP(base=trades).adversarial_inputs(f, x, y, key=key)
  np.testing.assert_array_equal(x_adv, trades.adversarial_inputs(f, x, y, key=key))
  assert float(jnp.abs(x_adv - x).max()) > 0.05
