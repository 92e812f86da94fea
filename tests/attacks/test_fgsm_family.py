"""Single-step attacks and PGD variants: their defining updates and options.

The properties every attack shares are in test_conformance.py; here, small
models where the answer is known by hand.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust.attacks import _core
from jaxrobust.attacks.bim import BIM
from jaxrobust.attacks.eot import EOTPGD, eot_gradient
from jaxrobust.attacks.fgsm import FFGSM, FGSM, RFGSM
from jaxrobust.attacks.jitter import Jitter, jitter_loss
from jaxrobust.attacks.pgd import PGD
from jaxrobust.attacks.tpgd import TPGD
from jaxrobust.attacks.upgd import UPGD
from jaxrobust.losses import cross_entropy, kl_divergence

SHAPE = (16, 4, 4, 1)
CLASSES = 3


def _data(seed=0):
  kx, ky = jax.random.split(jax.random.key(seed))
  x = jax.random.uniform(kx, SHAPE, minval=0.2, maxval=0.8)  # the box is 0.2 away
  return x, jax.random.randint(ky, SHAPE[:1], 0, CLASSES)


def _linear(seed=1):
  kw, kb = jax.random.split(jax.random.key(seed))
  w = jax.random.normal(kw, (16, CLASSES))
  b = jax.random.normal(kb, (CLASSES,))
  return w, b, lambda x: x.reshape(len(x), -1) @ w + b


def _mlp(seed=2):
  k1, k2 = jax.random.split(jax.random.key(seed))
  w1 = jax.random.normal(k1, (16, 12))
  w2 = jax.random.normal(k2, (12, CLASSES))
  return lambda x: jnp.tanh(x.reshape(len(x), -1) @ w1 - 4.0) @ w2


def _ce_sum(logits_fn, y):
  return lambda z: jnp.sum(cross_entropy(logits_fn(z), y))


@pytest.mark.parametrize("targeted", [False, True])
def test_fgsm_on_a_linear_model_is_the_hand_formula(targeted):
  x, y = _data()
  w, b, logits_fn = _linear()
  # d CE / dx = W (softmax(z) - onehot(y)), computed in float64.
  xn, wn, bn = (np.asarray(a, np.float64) for a in (x, w, b))
  z = xn.reshape(len(xn), -1) @ wn + bn
  p = np.exp(z - z.max(1, keepdims=True))
  p /= p.sum(1, keepdims=True)
  grad = ((p - np.eye(CLASSES)[np.asarray(y)]) @ wn.T).reshape(xn.shape)
  direction = -np.sign(grad) if targeted else np.sign(grad)
  for eps in (0.1, 0.3):  # 0.3 crosses the box
    x_adv = FGSM(eps=eps, targeted=targeted)(logits_fn, x, y)
    np.testing.assert_allclose(x_adv, np.clip(xn + eps * direction, 0, 1), atol=1e-6)
  # L2: the whole budget along the normalised gradient.
  x_adv = FGSM(eps=0.1, norm="l2", targeted=targeted)(logits_fn, x, y)
  unit = direction * np.abs(grad) / np.linalg.norm(grad.reshape(len(grad), -1), axis=1).reshape(
      -1, 1, 1, 1)
  np.testing.assert_allclose(x_adv, xn + 0.1 * unit, atol=1e-6)
  # Two classes: the sign is that of w_other - w_y, whatever the softmax.
  w2, x2 = w[:, :2], x[:4]
  y2 = jnp.array([0, 1, 0, 1])
  x_adv = FGSM(eps=0.1)(lambda v: v.reshape(len(v), -1) @ w2, x2, y2)
  closed = jnp.sign(w2[:, 1 - y2] - w2[:, y2]).T.reshape(x2.shape)
  np.testing.assert_allclose(x_adv, x2 + 0.1 * closed, atol=1e-6)


def test_bim_with_one_step_of_eps_is_fgsm_bit_for_bit():
  x, y = _data()
  logits_fn = _mlp()
  for targeted in (False, True):
    bim = BIM(eps=0.1, step_size=0.1, steps=1, targeted=targeted)(logits_fn, x, y)
    fgsm = FGSM(eps=0.1, targeted=targeted)(logits_fn, x, y)
    np.testing.assert_array_equal(bim, fgsm)
  # More steps go further (the loss rises), still inside the ball.
  far = BIM(eps=0.1, step_size=0.02, steps=10)(logits_fn, x, y)
  assert float(jnp.abs(far - x).max()) <= 0.1 + 1e-6
  assert float(_ce_sum(logits_fn, y)(far)) > float(_ce_sum(logits_fn, y)(x))


def test_ffgsm_and_rfgsm_stay_in_the_ball_and_depend_on_the_key():
  x, y = _data()
  logits_fn = _mlp()
  # Steps larger than eps (and alpha > eps for RFGSM) must still be projected.
  for attack in (FFGSM(eps=0.1, step_size=0.125), RFGSM(eps=0.1, step_size=0.15, alpha=0.15),
                 RFGSM(eps=0.1, step_size=0.025, alpha=0.025, steps=10)):
    a, b = (attack(logits_fn, x, y, key=jax.random.key(k)) for k in (0, 1))
    for x_adv in (a, b):
      assert float(jnp.abs(x_adv - x).max()) <= 0.1 + 1e-6
      assert float(x_adv.min()) >= 0 and float(x_adv.max()) <= 1
    assert not np.array_equal(a, b)
    with pytest.raises(ValueError, match="key"):
      attack(logits_fn, x, y)


def test_rfgsm_single_step_is_the_paper_update():
  """x' = x + alpha sign(N(0, I)); x_adv = x' + (eps - alpha) sign(grad at x')."""
  x, y = _data()
  logits_fn = _mlp()
  key = jax.random.key(4)
  eps, alpha = 0.1, 0.04
  x_adv = RFGSM(eps=eps, step_size=eps - alpha, alpha=alpha)(logits_fn, x, y, key=key)
  start = jnp.clip(x + alpha * jax.random.rademacher(key, x.shape, x.dtype), 0, 1)
  grad = jax.grad(_ce_sum(logits_fn, y))(start)
  np.testing.assert_allclose(x_adv, jnp.clip(start + (eps - alpha) * jnp.sign(grad), 0, 1),
                             atol=1e-6)


def test_ffgsm_is_one_step_from_the_uniform_start():
  x, y = _data()
  logits_fn = _mlp()
  key = jax.random.key(5)
  x_adv = FFGSM(eps=0.1, step_size=0.125)(logits_fn, x, y, key=key)
  start = _core.random_start(key, x, 0.1, "linf")
  grad = jax.grad(_ce_sum(logits_fn, y))(start)
  expected = jnp.clip(x + jnp.clip(start + 0.125 * jnp.sign(grad) - x, -0.1, 0.1), 0, 1)
  np.testing.assert_allclose(x_adv, expected, atol=1e-6)


def test_tpgd_raises_the_kl_to_the_clean_prediction_and_ignores_labels():
  x, y = _data()
  logits_fn = _mlp()
  key = jax.random.key(6)
  clean = logits_fn(x)
  kl = lambda z: float(jnp.mean(kl_divergence(clean, logits_fn(z))))
  start = jnp.clip(x + 0.001 * jax.random.normal(key, x.shape), 0, 1)
  losses = [kl(start)] + [kl(TPGD(eps=0.1, step_size=0.01, steps=s)(logits_fn, x, y, key=key))
                          for s in (1, 3, 10)]
  assert np.all(np.diff(losses) > 0), losses
  assert losses[-1] > 100 * losses[0], losses
  other = TPGD(eps=0.1, step_size=0.01, steps=3)(logits_fn, x, (y + 1) % CLASSES, key=key)
  np.testing.assert_array_equal(
      other, TPGD(eps=0.1, step_size=0.01, steps=3)(logits_fn, x, y, key=key))


@pytest.mark.parametrize("norm,loss,targeted", [("linf", "ce", False), ("l2", "ce", False),
                                                ("linf", "dlr", False), ("linf", "ce", True),
                                                ("l1", "cw", False)])
def test_upgd_without_momentum_is_pgd_bit_for_bit(norm, loss, targeted):
  x, y = _data()
  logits_fn = _mlp()
  eps, step = {"linf": (0.1, 0.02), "l2": (0.5, 0.1), "l1": (2.0, 0.5)}[norm]
  common = dict(eps=eps, step_size=step, steps=5, norm=norm, loss=loss, targeted=targeted)
  pgd = PGD(random_start=False, **common)(logits_fn, x, y)
  upgd = UPGD(**common)(logits_fn, x, y)
  if norm == "l2":
    # Same arithmetic, but XLA fuses the two loop bodies differently (UPGD's
    # also carries the momentum), so ||g||_2 may be summed in another order:
    # measured 1 ulp (4.8e-7). Sign steps (linf, l1) are exact.
    np.testing.assert_allclose(upgd, pgd, rtol=0, atol=2e-6)
  else:
    np.testing.assert_array_equal(upgd, pgd)
  if norm == "linf":
    # EOT over a model without randomness averages equal gradients: same signs.
    eot = UPGD(eot_iter=3, randomized=True, **common)(lambda z, k: logits_fn(z), x, y,
                                                      key=jax.random.key(0))
    np.testing.assert_array_equal(eot, pgd)


def test_upgd_without_momentum_is_pgd_bit_for_bit_unrolled(monkeypatch):
  """The same with the library's default unrolled step loops (the suite runs them
  rolled: tests/conftest.py)."""
  monkeypatch.setattr(_core, "UNROLL_MAX_STEPS", _core.DEFAULT_UNROLL_MAX_STEPS)
  test_upgd_without_momentum_is_pgd_bit_for_bit("linf", "ce", False)


def test_upgd_momentum_is_mi_fgsm():
  """m_t = g_t / mean|g_t| + decay m_{t-1}; x += step sign(m_t), as in torchattacks' UPGD."""
  x, y = _data()
  logits_fn = _mlp()
  eps, step, decay = 0.1, 0.02, 1.0
  x_ref, m = x, jnp.zeros_like(x)
  for _ in range(6):
    g = jax.grad(_ce_sum(logits_fn, y))(x_ref)
    m = g / jnp.mean(jnp.abs(g), axis=(1, 2, 3), keepdims=True) + decay * m
    x_ref = jnp.clip(x + jnp.clip(x_ref + step * jnp.sign(m) - x, -eps, eps), 0, 1)
  ours = UPGD(eps=eps, step_size=step, steps=6, decay=decay)(logits_fn, x, y)
  np.testing.assert_allclose(ours, x_ref, atol=1e-6)
  plain = UPGD(eps=eps, step_size=step, steps=6)(logits_fn, x, y)
  assert float(jnp.abs(plain - ours).max()) > 0.01  # the momentum changed the path


def test_upgd_options_are_checked():
  with pytest.raises(ValueError, match="randomized"):
    UPGD(eot_iter=2)
  with pytest.raises(ValueError, match="eot_iter"):
    UPGD(eot_iter=0, randomized=True)
  with pytest.raises(ValueError, match="key"):
    UPGD(random_start=True)(_mlp(), *_data())


def _masked_linear(keep=0.5):
  """A randomized defense: each call keeps a random half of the pixels."""
  w, b, _ = _linear()

  def logits_fn(x, key):
    mask = jax.random.bernoulli(key, keep, x.shape)
    return (x * mask).reshape(len(x), -1) @ w + b
  return logits_fn


def test_eot_gradient_is_the_mean_over_keys():
  x, y = _data()
  logits_fn = _masked_linear()
  key = jax.random.key(7)
  ours = eot_gradient(logits_fn, cross_entropy, x, y, key, 5)
  by_hand = [jax.grad(_ce_sum(lambda z, k=k: logits_fn(z, k), y))(x)
             for k in jax.random.split(key, 5)]
  np.testing.assert_allclose(ours, np.mean(by_hand, axis=0), rtol=1e-5, atol=1e-7)


def test_eotpgd_with_more_samples_is_stronger_on_a_randomized_model():
  x, y = _data()
  logits_fn = _masked_linear()

  def expected_loss(x_adv):  # the randomized model's expected loss, over 512 draws
    keys = jax.random.split(jax.random.key(99), 512)
    return float(jnp.mean(jax.vmap(lambda k: cross_entropy(logits_fn(x_adv, k), y))(keys)))

  run = lambda n: EOTPGD(eps=0.1, step_size=0.05, steps=2, eot_iter=n, random_start=False)(
      logits_fn, x, y, key=jax.random.key(0))
  # One draw sees half the pixels, so each step moves only those; 32 draws see all.
  one, many = expected_loss(run(1)), expected_loss(run(32))
  assert many > one > expected_loss(x), (many, one)
  # EOTPGD is UPGD on a randomized model, without momentum: same keys, same result.
  common = dict(eps=0.1, step_size=0.02, steps=4, eot_iter=3)
  np.testing.assert_array_equal(
      EOTPGD(**common)(logits_fn, x, y, key=jax.random.key(1)),
      UPGD(randomized=True, random_start=True, **common)(logits_fn, x, y, key=jax.random.key(1)))


def test_jitter_loss_by_hand():
  logits = jnp.array([[2.0, -4.0, 1.0]])
  noise = jnp.array([[0.1, 0.0, -0.2]])
  z = np.array([0.5, -1.0, 0.25]) * 10.0  # scale * logits / ||logits||_inf
  p = np.exp(z) / np.exp(z).sum() + np.asarray(noise[0])
  expected = np.mean((p - np.array([1.0, 0.0, 0.0])) ** 2)
  np.testing.assert_allclose(jitter_loss(logits, jnp.array([0]), noise, 10.0), [expected],
                             rtol=1e-6)


def test_jitter_matches_a_direct_implementation():
  """Without noise and random start, Jitter is a deterministic loop (torchattacks' order):
  the squared error, divided by ||x_adv - x||_inf where already misclassified."""
  x, y = _data()
  logits_fn = _mlp()
  eps, step, scale, steps = 0.3, 0.05, 10.0, 6
  x_ref, divided = x, 0

  def cost(z):
    logits = logits_fn(z)
    probs = jax.nn.softmax(scale * logits / jnp.max(jnp.abs(logits), 1, keepdims=True))
    mse = jnp.mean((probs - jax.nn.one_hot(y, CLASSES)) ** 2, axis=1)
    r = jnp.max(jnp.abs(z - x).reshape(len(z), -1), axis=1)
    wrong = (logits.argmax(-1) != y) & (r != 0)
    return jnp.mean(jnp.where(wrong, mse / jnp.where(wrong, r, 1.0), mse)), wrong.sum()

  cost_grad = jax.jit(jax.grad(cost, has_aux=True))
  for _ in range(steps):
    grad, n = cost_grad(x_ref)
    divided += int(n)
    x_ref = jnp.clip(x + jnp.clip(x_ref + step * jnp.sign(grad) - x, -eps, eps), 0, 1)
  assert divided > 0  # the division was exercised
  ours = Jitter(eps=eps, step_size=step, steps=steps, scale=scale, std=0.0,
                random_start=False)(logits_fn, x, y, key=jax.random.key(0))
  np.testing.assert_allclose(ours, x_ref, atol=1e-6)


def test_jitter_is_far_stronger_than_random_noise(mnist_model):
  logits_fn, x, y, clean = mnist_model
  x, y = x[:200], y[:200]
  accuracy = lambda z: float(jnp.mean(logits_fn(z).argmax(-1) == y))
  noise = jnp.clip(x + 0.1 * jax.random.rademacher(jax.random.key(0), x.shape, x.dtype), 0, 1)
  x_adv = jax.jit(lambda x, y, k: Jitter(eps=0.1, step_size=0.025, steps=10)(
      logits_fn, x, y, key=k))(x, y, jax.random.key(0))
  # Measured: noise at the corners of the ball 0.91, Jitter 0.55 (500 images).
  assert accuracy(x_adv) < accuracy(noise) - 0.2, (accuracy(x_adv), accuracy(noise))
