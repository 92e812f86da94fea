"""SAM is attracted to the saddle of x^2 - y^2 where GD escapes (Kim et al., 2023)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust.optim.stability import escape_step, first_step, make_optimizer, saddle, trajectory

W0 = jnp.array([0.5, 1e-3])  # near the saddle, almost on its stable manifold


def _run(kind, rho, steps=300):
  tx = make_optimizer(kind, 0.05, rho)
  run = jax.jit(functools.partial(trajectory, saddle, tx, steps=steps))
  return np.asarray(run(W0))


def test_gd_escapes_the_saddle_and_sam_with_large_rho_is_attracted_to_it():
  gd = _run("gd", 0.0)
  escape = first_step(np.abs(gd[:, 1]) > 1.0)
  assert escape is not None and escape < 100
  # Kim et al., unnormalised SAM (w + rho g): the saddle attracts iff rho > -1/lambda_min = 1/2.
  attracted = _run("usam", 0.6)
  assert np.linalg.norm(attracted[-1]) < 1e-3 * np.linalg.norm(W0)
  assert np.all(np.abs(attracted[:, 1]) <= 1e-3 + 1e-9)  # y never grows
  below = _run("usam", 0.4)[:, 1]  # below the threshold y grows: 1 + 2 lr (1 - 2 rho) > 1
  assert np.all(np.diff(below) > 0) and below[-1] > 100 * below[0]
  # Foret et al.'s normalised SAM: trapped within O(lr * rho) of the saddle.
  trapped = _run("sam", 0.2)
  assert np.abs(trapped[100:]).max() < 0.05
  assert first_step(np.abs(trapped[:, 1]) > 1.0) is None


def test_the_threshold_is_set_by_the_negative_eigenvalue_closest_to_zero():
  # Hessian eigenvalues 2, -1, -4: the saddle attracts unnormalised SAM only when
  # rho > -1/lambda for both negative ones, i.e. rho > 1 (from -1), not 1/4 (from -4).
  loss = lambda w: w[0] ** 2 - 0.5 * w[1] ** 2 - 2.0 * w[2] ** 2
  w0 = jnp.array([0.5, 1e-3, 1e-3])

  def final(rho):
    tx = make_optimizer("usam", 0.02, rho)
    return np.abs(np.asarray(jax.jit(functools.partial(trajectory, loss, tx, steps=400))(w0))[-1])

  past_the_steep_one = final(0.5)   # > 1/4: z contracts, but y (lambda = -1) still escapes
  assert past_the_steep_one[2] < 1e-3 * 1e-3 and past_the_steep_one[1] > 10 * 1e-3
  attracted = final(1.5)            # > 1: every direction contracts (y by 0.99 a step)
  assert attracted[1] < 0.05 * 1e-3 and attracted[0] < 1e-6 and attracted[2] < 1e-6


def test_escape_counts_only_leaving_a_neighbourhood_once_inside_it():
  assert escape_step(np.array([False, False, True, True])) == 2
  assert escape_step(np.array([True, True, False, False, True])) == 4  # started outside
  assert escape_step(np.array([True, True, True])) is None             # never came near
  assert escape_step(np.array([False, False])) is None
