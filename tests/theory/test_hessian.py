"""Hessian-vector products, Lanczos, power iteration and Hutchinson against the exact Hessian."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust.theory import hessian, network, sharpness


@pytest.fixture(scope="module")
def problem():
  """The L2 adversarial logistic objective at a generic theta (d = 7), and a tiny MLP (pytree)."""
  x, y = sharpness.overlapping_gaussians(jax.random.key(0), n=64, dim=6, separation=2.0)
  f = sharpness.objective(x, y, 0.3, "l2", weight_decay=0.05)
  theta = jax.random.normal(jax.random.key(1), (7,))
  inputs = jax.random.uniform(jax.random.key(2), (32, 4))
  labels = jax.random.randint(jax.random.key(3), (32,), 0, 3)
  params = network.init_mlp(jax.random.key(4), 4, 3, 3)  # 27 parameters
  g = lambda p: network.mean_cross_entropy(p, inputs, labels)
  return f, theta, g, params


def _spectra(loss, point):
  """Everything the tests compare, in one compiled call per problem."""
  def run(point):
    exact = hessian.exact_hessian(loss, point)
    hvp, dim = hessian.make_hvp(loss, point)
    return dict(
        exact=exact, eig=jnp.linalg.eigvalsh(exact),
        columns=jax.vmap(hvp)(jnp.eye(dim)).T,
        # More iterations than the space: capped at dim, then exact.
        full=hessian.lanczos(hvp, dim, key=jax.random.key(5), num_iters=dim + 5).ritz_values,
        short=hessian.lanczos(hvp, dim, key=jax.random.key(6), num_iters=min(dim, 15)).top,
        power=hessian.power_iteration(hvp, dim, key=jax.random.key(8), num_iters=300),
        trace=hessian.hutchinson_trace(hvp, dim, key=jax.random.key(9), num_samples=2000))
  out = jax.jit(run)(point)
  hvp, _ = hessian.make_hvp(loss, point)
  out["residual"] = jnp.linalg.norm(hvp(out["power"][1]) - out["power"][0] * out["power"][1])
  return out


@pytest.fixture(scope="module")
def spectra(problem):
  f, theta, g, params = problem
  return {"linear": _spectra(f, theta), "mlp": _spectra(g, params)}


@pytest.mark.parametrize("name", ["linear", "mlp"])
def test_hvp_equals_exact_hessian_columns(spectra, name):
  s = spectra[name]
  assert s["exact"].shape == (s["eig"].shape[0],) * 2
  np.testing.assert_allclose(s["columns"], s["exact"], atol=1e-5)
  np.testing.assert_allclose(s["exact"], s["exact"].T, atol=1e-5)


@pytest.mark.parametrize("name", ["linear", "mlp"])
def test_lanczos_finds_the_exact_spectrum(spectra, name):
  s = spectra[name]
  # With num_iters >= dim (capped at dim) the Ritz values are the eigenvalues.
  assert s["full"].shape == s["eig"].shape
  np.testing.assert_allclose(s["full"], s["eig"], atol=1e-4)
  # A few iterations already give the top one (what the sharpness measure uses).
  np.testing.assert_allclose(s["short"], s["eig"][-1], rtol=1e-4)


def test_power_iteration_finds_the_top_eigenpair(spectra):
  # The adversarial objective is convex, so the largest |eigenvalue| is the top one.
  s = spectra["linear"]
  np.testing.assert_allclose(s["power"][0], s["eig"][-1], rtol=1e-4)
  assert float(s["residual"]) <= 1e-3 * float(s["eig"][-1])


@pytest.mark.parametrize("name", ["linear", "mlp"])
def test_hutchinson_trace_is_unbiased(spectra, name):
  s = spectra[name]
  estimate, stderr = s["trace"]
  assert float(stderr) > 0
  assert abs(float(estimate - jnp.sum(s["eig"]))) <= 4 * float(stderr)


def test_bad_input_raises(problem):
  f, theta, _, _ = problem
  hvp, dim = hessian.make_hvp(f, theta)
  with pytest.raises(ValueError, match="num_iters"):
    hessian.lanczos(hvp, dim, key=jax.random.key(0), num_iters=0)
  with pytest.raises(ValueError, match="num_iters"):
    hessian.power_iteration(hvp, dim, key=jax.random.key(0), num_iters=0)
  with pytest.raises(ValueError, match="num_samples"):
    hessian.hutchinson_trace(hvp, dim, key=jax.random.key(0), num_samples=0)
