"""Absum: the proximal step solves its subproblem; only conv filters move."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize

from jaxrobust.defenses.absum import absum_penalty, absum_prox, prox_filter_sum


@pytest.mark.parametrize("threshold", [0.01, 0.1, 1.0])
def test_prox_matches_a_numerical_minimiser(threshold):
  rng = np.random.default_rng(0)
  for _ in range(4):
    w = rng.normal(size=(3, 3))
    objective = lambda u: 0.5 * np.sum((u - w.ravel()) ** 2) + threshold * abs(u.sum())
    # The same convex problem made smooth for SLSQP: min 1/2||u - w||^2 + threshold t
    # subject to t >= sum(u) and t >= -sum(u); variables v = (u, t).
    smooth = lambda v: 0.5 * np.sum((v[:-1] - w.ravel()) ** 2) + threshold * v[-1]
    constraints = [{"type": "ineq", "fun": lambda v: v[-1] - v[:-1].sum()},
                   {"type": "ineq", "fun": lambda v: v[-1] + v[:-1].sum()}]
    start = np.append(w.ravel(), abs(w.sum()))
    best = optimize.minimize(smooth, start, method="SLSQP", constraints=constraints,
                             options={"ftol": 1e-14, "maxiter": 500})
    assert best.success, best.message
    ours = np.asarray(prox_filter_sum(jnp.asarray(w, jnp.float32), threshold, (0, 1)),
                      np.float64)
    # float32 prox against a float64 solver: agreement to float32 rounding.
    assert objective(ours.ravel()) <= best.fun + 1e-5
    np.testing.assert_allclose(ours.ravel(), best.x[:-1], atol=1e-5)


def test_prox_shifts_each_filter_equally_and_zeroes_small_sums():
  kernel = jax.random.normal(jax.random.key(0), (3, 3, 2, 4))
  out = prox_filter_sum(kernel, 10.0, (0, 1))  # threshold above every |mean|
  np.testing.assert_allclose(out.sum((0, 1)), 0.0, atol=1e-5)
  shift = kernel - out
  np.testing.assert_allclose(shift, jnp.broadcast_to(shift[:1, :1], shift.shape), atol=1e-6)


def test_absum_prox_touches_conv_kernels_only_and_lowers_the_penalty():
  params = {"Conv_0": {"kernel": jax.random.normal(jax.random.key(1), (3, 3, 1, 4)) + 0.3,
                       "bias": jnp.ones(4)},
            "Dense_0": {"kernel": jnp.ones((5, 3)), "bias": jnp.ones(3)}}
  out = absum_prox(params, 0.05)
  for leaf in ("bias",):
    np.testing.assert_array_equal(out["Conv_0"][leaf], params["Conv_0"][leaf])
  np.testing.assert_array_equal(out["Dense_0"]["kernel"], params["Dense_0"]["kernel"])
  before, after = absum_penalty(params), absum_penalty(out)
  # Each of the 4 filters' |sum| falls by min(|sum|, 9 * 0.05).
  sums = jnp.abs(params["Conv_0"]["kernel"].sum((0, 1)))
  np.testing.assert_allclose(before - after, jnp.minimum(sums, 0.45).sum(), rtol=1e-5)
  np.testing.assert_array_equal(absum_prox(params, 0.0)["Conv_0"]["kernel"],
                                params["Conv_0"]["kernel"])
