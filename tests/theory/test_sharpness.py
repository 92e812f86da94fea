"""Yamada et al.: L2 adversarial training sharpens the weight loss landscape of logistic regression.

Measured where an optimum exists: overlapping classes without weight decay (on
separable classes there is none unless weight decay bounds w). Then the same
trend on a tiny PGD-trained softmax MLP.

References: Yamada et al., arXiv:2102.02950 (2021).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust.theory import network, sharpness

EPSILONS = jnp.asarray([0.0, 0.2, 0.4, 0.6])


@jax.jit
def _sweep(x, y, weight_decay):
  def one(eps):
    f = sharpness.objective(x, y, eps, "l2", weight_decay)
    fit = sharpness.minimize(f, sharpness.initial_theta(x, y), steps=200)
    return fit, sharpness.measure_sharpness(f, fit.theta, key=jax.random.key(1),
                                            lanczos_iters=6, trace_samples=10)
  return jax.vmap(one)(EPSILONS)


def _check_sweep(fit, sharp):
  # At an optimum: the gradient vanishes and w is away from the kink at 0.
  assert float(jnp.max(fit.grad_norm)) < 1e-4
  assert float(jnp.min(jnp.linalg.norm(fit.theta[:, :-1], axis=-1))) > 0.1
  top = np.asarray(sharp.top_exact)
  assert np.all(np.diff(top) > 0), top  # sharper with every eps step
  assert top[-1] > 2 * top[0], top
  # The exact trace grows too; Lanczos (6 products) agrees with the exact top.
  assert np.all(np.diff(np.asarray(sharp.trace_exact)) > 0)
  np.testing.assert_allclose(sharp.top_lanczos, top, rtol=1e-3)


def test_top_eigenvalue_at_the_optimum_grows_with_eps_on_overlapping_classes():
  x, y = sharpness.overlapping_gaussians(jax.random.key(0), n=200, dim=5, separation=2.0)
  _check_sweep(*_sweep(x, y, 0.0))


def test_separable_classes_have_an_optimum_only_with_weight_decay():
  x, y = sharpness.overlapping_gaussians(jax.random.key(0), n=200, dim=5, separation=8.0)
  assert float(jnp.min(y * x[:, 0])) > 0  # separable along the first axis

  @jax.jit
  def norms(weight_decay):
    f = sharpness.objective(x, y, 0.1, "l2", weight_decay)
    fits = [sharpness.minimize(f, sharpness.initial_theta(x, y), steps=s) for s in (50, 200)]
    return [jnp.linalg.norm(r.theta[:-1]) for r in fits], fits[-1].grad_norm

  (short, long), _ = norms(0.0)
  # No finite minimiser: ||w|| keeps growing with the budget (the loss tends to 0).
  assert float(long) > 1.5 * float(short) and float(long) > 10
  (short, long), grad_norm = norms(0.05)
  # With weight decay the optimum is reached and stays put.
  assert float(grad_norm) < 1e-4
  np.testing.assert_allclose(long, short, rtol=1e-4)


def test_pgd_trained_mlp_is_sharper_than_standard():
  x = jax.random.uniform(jax.random.key(0), (128, 16))
  labels = (jnp.sum(x[:, :8], axis=1) > jnp.sum(x[:, 8:], axis=1)).astype(jnp.int32)

  @jax.jit
  def run(eps):
    net = network.train_pgd_at(jax.random.key(1), x, labels, eps, classes=2, hidden=8,
                               attack_steps=5, train_steps=150, learning_rate=3e-2)
    return net, network.net_sharpness(net.params, net.x_adv, labels, key=jax.random.key(2),
                                      lanczos_iters=15, power_iters=30, trace_samples=10)

  # eps = 0.1 in L2; much larger eps (0.3) makes this task unlearnable robustly.
  nets, sharp = jax.vmap(run)(jnp.asarray([0.0, 0.1]))
  assert float(nets.clean_accuracy[0]) > 0.9  # it learnt the task
  assert float(nets.adv_accuracy[1]) < float(nets.clean_accuracy[1])  # the attack bites
  top = np.asarray(sharp.top_lanczos)
  assert top[1] > 2 * top[0], top


def test_bad_input_raises():
  x, y = sharpness.overlapping_gaussians(jax.random.key(0), n=10, dim=2)
  with pytest.raises(ValueError, match="weight_decay must be finite and >= 0"):
    sharpness.objective(x, y, 0.1, "l2", -1.0)
  with pytest.raises(ValueError, match="eps must be finite and >= 0"):
    sharpness.objective(x, y, -0.1, "l2")
  with pytest.raises(ValueError, match="p must be >= 1"):
    sharpness.objective(x, y, 0.1, 0.9)
  with pytest.raises(ValueError, match="steps"):
    sharpness.minimize(lambda t: jnp.sum(t * t), jnp.ones(3), steps=0)
