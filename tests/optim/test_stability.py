"""SAM is attracted to the saddle of x^2 - y^2 where GD escapes (Kim et al., 2023)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust.optim.stability import first_step, make_optimizer, saddle, trajectory

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
