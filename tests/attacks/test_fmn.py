"""FMN (Pintor et al. 2021): radius update, projections, minimal radii and the one-run curve."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import attacks
from jaxrobust.attacks.fmn import FMN, _project_l0, fmn_norm, minimal_radii
from jaxrobust.attacks.sweep import minimal_norm_curve


def _linear(d=16, batch=6, seed=0):
  """Two-class linear model around x = 0.5, small weights: the box never binds."""
  w = jax.random.normal(jax.random.key(seed), (d,))
  x = jnp.full((batch, d), 0.5) + 0.01 * jax.random.normal(jax.random.key(seed + 1), (batch, d))
  logits_fn = lambda z: jnp.stack([jnp.zeros(z.shape[0]), z @ w - 8.0], axis=1)
  return logits_fn, x, w


# Linf only. L1: the L2-normalised step is dense, its L1 projection at the linearised
# radius falls short of a boundary whose L1 minimum moves one coordinate, and eps
# creeps up without crossing in 100 steps (Foolbox 3.3.4 does the same on this model).
# L2: there the first step lands exactly on a linear boundary (the L2-normalised
# gradient is the boundary's normal, and eps is the exact distance), where the margin
# is 0 up to rounding, and the linearised update keeps it there.
@pytest.mark.parametrize("norm,dual", [("linf", 1)])
def test_radius_approaches_the_exact_minimum_on_a_linear_model(norm, dual):
  logits_fn, x, w = _linear()
  y = logits_fn(x).argmax(-1)
  x_adv = FMN(norm=norm, steps=100)(logits_fn, x, y)
  radii = np.asarray(minimal_radii(logits_fn, x, x_adv, y, norm))
  # Distance of x to the hyperplane x @ w = 8 in `norm`: |margin| / ||w||_dual.
  exact = np.abs(np.asarray(x @ w - 8.0)) / np.linalg.norm(np.asarray(w), ord=dual)
  assert np.all(np.isfinite(radii))
  assert np.all(radii >= exact * (1 - 1e-4))  # nothing beats the exact minimum
  assert np.all(radii <= exact * 1.05), (radii, exact)


def test_l0_projection_keeps_the_largest_entries():
  delta = jnp.array([[0.1, -0.5, 0.3, 0.0], [0.2, 0.2, -0.9, 0.05]])
  out = _project_l0(delta, jnp.array([2.0, 1.0]))
  np.testing.assert_array_equal(out, np.float32([[0.0, -0.5, 0.3, 0.0], [0.0, 0.0, -0.9, 0.0]]))
  np.testing.assert_array_equal(fmn_norm(out, "l0"), [2, 1])


def test_minimal_radii_inf_where_not_adversarial_zero_where_misclassified():
  logits_fn = lambda z: jnp.stack([z[:, 0], 1 - z[:, 0]], axis=1)
  x = jnp.array([[0.8, 0.0], [0.2, 0.0], [0.8, 0.0]])
  y = jnp.array([0, 0, 0])  # the second point is misclassified as it stands
  x_adv = jnp.array([[0.3, 0.0], [0.2, 0.0], [0.7, 0.0]])  # third: still class 0
  np.testing.assert_allclose(minimal_radii(logits_fn, x, x_adv, y, "l2"), [0.5, 0.0, np.inf],
                             rtol=1e-6)


def test_minimal_norm_curve_counts_radii_above_each_eps():
  radii = jnp.array([0.0, 0.1, 0.3, np.inf])
  curve = minimal_norm_curve(radii, [0.0, 0.1, 0.2, 1.0])
  np.testing.assert_allclose(curve, [0.75, 0.5, 0.5, 0.25])


def test_minimal_norm_curve_matches_the_fixed_radius_success(mnist_model):
  """The one-run curve at eps is the fraction FMN did not break within eps."""
  logits_fn, x, y, _ = mnist_model
  x_adv = jax.jit(lambda x, y: FMN(norm="linf", steps=20)(logits_fn, x, y))(x[:32], y[:32])
  radii = minimal_radii(logits_fn, x[:32], x_adv, y[:32], "linf")
  grid = [0.05, 0.1, 0.2]
  curve = np.asarray(minimal_norm_curve(radii, grid))
  assert np.all(np.diff(curve) <= 0)  # robust fraction never grows with eps
  broken = np.asarray(logits_fn(x_adv).argmax(-1) != y[:32])
  size = np.asarray(attacks.perturbation_norm(x_adv - x[:32], "linf"))
  for eps, robust in zip(grid, curve):
    assert robust == pytest.approx(1 - np.mean(broken & (size <= eps)))
  assert curve[-1] < 0.5  # a real attack: most points break within Linf 0.2 (median 0.13)


@pytest.mark.parametrize("grid,match", [([], "non-empty"), ([0.1, -1.0], ">= 0"),
                                        ([[0.1]], "1-D")])
def test_minimal_norm_curve_rejects_bad_grids(grid, match):
  with pytest.raises(ValueError, match="eps_grid.*" + match):
    minimal_norm_curve(jnp.ones(3), grid)


@pytest.mark.parametrize("field,value", [("gamma_init", 1.5), ("alpha_final", -1.0)])
def test_bad_numeric_fields_raise_naming_the_field(field, value):
  with pytest.raises(ValueError, match=field):
    FMN(**{field: value}).validate()


def test_unknown_norm_lists_the_choices():
  with pytest.raises(ValueError, match="norm.*l0"):
    FMN(norm="l3")
