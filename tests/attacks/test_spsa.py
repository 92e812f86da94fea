"""Properties of SPSA: the gradient estimate, the Linf optimum on a linear model, options."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust.attacks.spsa import SPSA, margin_loss, spsa_gradient


def _linear(classes=2, dim=64, seed=0, batch=8, bias=None):
  """z = x W + b on inputs [batch, dim // 4, 4, 1] in [0.4, 0.6] (no box clipping at eps <= 0.1)."""
  rng = np.random.default_rng(seed)
  w = jnp.asarray(rng.normal(size=(dim, classes)), jnp.float32)
  b = jnp.asarray(rng.normal(size=classes) if bias is None else bias, jnp.float32)
  logits_fn = lambda x: x.reshape(x.shape[0], -1) @ w + b
  x = jnp.asarray(rng.uniform(0.4, 0.6, size=(batch, dim // 4, 4, 1)), jnp.float32)
  return logits_fn, w, x


def test_gradient_estimate_approaches_the_true_gradient_on_a_quadratic():
  # f_i(x) = sum_j a_j x_ij^2 / 2 + c_j x_ij: gradient a x + c. Central differences
  # are exact on a quadratic, so the only error is the sampling of v, ~ sqrt(d / n).
  rng = np.random.default_rng(0)
  a = jnp.asarray(rng.uniform(0.5, 2.0, size=(5, 10)), jnp.float32)
  c = jnp.asarray(rng.normal(size=(5, 10)), jnp.float32)
  loss_fn = lambda z: jnp.sum(0.5 * a * z ** 2 + c * z, axis=(1, 2))
  x = jnp.asarray(rng.uniform(size=(3, 5, 10)), jnp.float32)
  true = np.asarray(a * x + c).reshape(3, -1)
  errors, cosines = [], []
  for n in (16, 256, 4096):
    g = np.asarray(spsa_gradient(loss_fn, x, jax.random.key(1), 0.01, n)).reshape(3, -1)
    errors.append(np.linalg.norm(g - true, axis=1) / np.linalg.norm(true, axis=1))
    cosines.append(np.sum(g * true, 1) / np.linalg.norm(g, axis=1) / np.linalg.norm(true, axis=1))
  errors = np.mean(errors, axis=1)
  # ~ sqrt(50 / n): 1.8, 0.44, 0.11; each 16x more samples divides the error by ~4.
  assert errors[1] < errors[0] / 2.5 and errors[2] < errors[1] / 2.5, errors
  assert errors[2] < 0.2 and np.min(cosines[2]) > 0.98, (errors, cosines[2])


def test_gradient_estimate_does_not_depend_on_the_sample_batch():
  loss_fn = lambda z: jnp.sum(jnp.sin(3 * z), axis=(1, 2))
  x = jax.random.uniform(jax.random.key(0), (4, 3, 5))
  one = spsa_gradient(loss_fn, x, jax.random.key(2), 0.01, 20, None)
  chunked = spsa_gradient(loss_fn, x, jax.random.key(2), 0.01, 20, 6)
  np.testing.assert_allclose(chunked, one, rtol=1e-5, atol=1e-6)


def test_margin_loss_is_negative_exactly_when_the_attack_succeeds():
  logits = jnp.array([[3.0, 1.0, 0.0], [0.0, 2.0, 1.0]])
  y = jnp.array([0, 0])
  np.testing.assert_allclose(margin_loss(logits, y, targeted=False), [2.0, -2.0])
  np.testing.assert_allclose(margin_loss(logits, jnp.array([1, 1]), targeted=True), [2.0, -1.0])


def test_reaches_the_linf_optimum_of_a_linear_model():
  # A large bias keeps class 0 whatever the perturbation, so the margin loss is
  # linear with gradient w_0 - w_1 and its minimum in the ball is the corner
  # x - eps * sign(w_0 - w_1). Measured: 91-97% of the possible decrease.
  logits_fn, w, x = _linear(bias=[100.0, 0.0])
  y = jnp.zeros(8, jnp.int32)
  eps = 0.05
  attack = SPSA(eps=eps, learning_rate=0.01, steps=20, nb_sample=64, early_stop=False)
  x_adv = jax.jit(lambda x, y, k: attack(logits_fn, x, y, key=k))(x, y, jax.random.key(0))
  corner = x - eps * jnp.sign(w[:, 0] - w[:, 1]).reshape(1, 16, 4, 1)
  loss = lambda z: np.asarray(margin_loss(logits_fn(z), y, targeted=False))
  achieved = (loss(x) - loss(x_adv)) / (loss(x) - loss(corner))
  assert achieved.min() > 0.85 and achieved.mean() > 0.9, achieved
  assert float(jnp.abs(x_adv - x).max()) <= eps + 1e-6


def test_targeted_mode_reaches_the_runner_up_classes_of_a_linear_model():
  # The runner-up class is reachable at eps = 0.1 for all 12 points (white-box
  # PGD-50 reaches all of them).
  logits_fn, _, x = _linear(classes=3, seed=1, batch=12, bias=[0.0, 0.0, 0.0])
  target = jnp.argsort(logits_fn(x), -1)[:, 1]
  attack = SPSA(eps=0.1, learning_rate=0.02, steps=10, nb_sample=32, targeted=True)
  x_adv = attack(logits_fn, x, target, key=jax.random.key(0))
  assert float(jnp.mean(logits_fn(x_adv).argmax(-1) == target)) == 1.0
  assert float(jnp.abs(x_adv - x).max()) <= 0.1 + 1e-6


def test_early_stop_leaves_adversarial_examples_where_they_are():
  logits_fn, _, x = _linear(classes=3, seed=2)
  wrong = (logits_fn(x).argmax(-1) + 1) % 3  # already misclassified
  attack = SPSA(eps=0.1, learning_rate=0.02, steps=3, nb_sample=8)
  np.testing.assert_array_equal(attack(logits_fn, x, wrong, key=jax.random.key(0)), x)
  moved = attack.replace(early_stop=False)(logits_fn, x, wrong, key=jax.random.key(0))
  assert float(jnp.abs(moved - x).max()) > 0


def test_random_start_starts_inside_the_ball():
  logits_fn, _, x = _linear(bias=[100.0, 0.0])
  y = jnp.zeros(8, jnp.int32)
  a = SPSA(eps=0.05, learning_rate=0.0, steps=1, nb_sample=2, random_start=True)
  x_adv = a(logits_fn, x, y, key=jax.random.key(0))
  # lr 0: the start itself; uniform in the ball, so nearly every coordinate moved.
  assert float(jnp.abs(x_adv - x).max()) <= 0.05 + 1e-6
  assert float(jnp.mean(x_adv != x)) > 0.99


def test_needs_a_key():
  logits_fn, _, x = _linear()
  with pytest.raises(ValueError, match="key"):
    SPSA()(logits_fn, x, jnp.zeros(8, jnp.int32))
