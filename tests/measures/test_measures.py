"""Measures on hand-checkable cases: closed forms of linear models and quadratics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import expit

from jaxrobust import measures
from jaxrobust.attacks import PGD
from jaxrobust.measures import margin as margin_lib

KEY = jax.random.key(0)
NO_ATTACK = PGD(eps=0.0, steps=1, random_start=False)


def two_class(params, x):
  """Logits [a, -a], a = x.w + b: p0 - p1 = tanh(a); the boundary is a = 0."""
  a = x.reshape(x.shape[0], -1) @ params["kernel"][:, 0] + params["bias"][0]
  return jnp.stack([a, -a], axis=1)


def compute(names, apply_fn, params, params_init, x, y, key=KEY, **kwargs):
  """measures.compute, jitted: one compiled program (and cache entry) per test."""
  return jax.jit(lambda p, p0, x, y, k: measures.compute(
      names, apply_fn, p, p0, x, y, key=k, **kwargs))(params, params_init, x, y, key)


def linear_params(w, b):
  return {"kernel": jnp.asarray(w, jnp.float32)[:, None], "bias": jnp.asarray([b], jnp.float32)}


def mlp_apply(params, x):
  """A bias-carrying ReLU MLP 12 -> 6 -> 5 -> 3 in Flax's parameter naming."""
  h = x.reshape(x.shape[0], -1)
  for i in range(3):
    h = h @ params[f"Dense_{i}"]["kernel"] + params[f"Dense_{i}"]["bias"]
    h = jax.nn.relu(h) if i < 2 else h
  return h


@pytest.fixture(scope="module")
def mlp():
  rng = np.random.default_rng(0)
  sizes = (12, 6, 5, 3)
  p0 = {f"Dense_{i}": {"kernel": jnp.asarray(rng.normal(size=sizes[i:i + 2]) / 3, jnp.float32),
                       "bias": jnp.asarray(rng.normal(size=sizes[i + 1]) / 10, jnp.float32)}
        for i in range(3)}
  p = jax.tree.map(lambda a: a + jnp.asarray(0.3 * rng.normal(size=a.shape), jnp.float32), p0)
  x = jnp.asarray(rng.uniform(size=(40, 12)), jnp.float32)
  y = jnp.asarray(rng.integers(0, 3, 40), jnp.int32)
  return mlp_apply, p, p0, x, y


def test_output_margin_of_a_linear_model_is_its_closed_form():
  w, b = np.array([0.5, -1.0, 2.0, 0.25]), 0.1
  x = jax.random.uniform(KEY, (50, 4))
  y = jax.random.randint(jax.random.key(5), (50,), 0, 2)
  a = np.asarray(x) @ w + b
  want = np.where(np.asarray(y) == 0, 2 * a, -2 * a)  # f_y - f_other
  logits = two_class(linear_params(w, b), x)
  np.testing.assert_allclose(margin_lib.output_margins(logits, y), want, rtol=1e-5, atol=1e-5)
  out = compute(["margin"], two_class, linear_params(w, b), linear_params(w, b), x, y,
                         attack=NO_ATTACK)
  gamma = abs(np.percentile(want, 10))
  np.testing.assert_allclose(out["margin_clean"], gamma, rtol=1e-5)
  np.testing.assert_allclose(out["inverse_margin_clean"], 1 / gamma ** 2, rtol=1e-4)
  np.testing.assert_allclose(out["margin_adv"], gamma, rtol=1e-5)  # eps 0: x_adv = x


def test_norm_family_matches_numpy(mlp):
  apply_fn, p, p0, x, y = mlp
  out = compute(["norm"], apply_fn, p, p0, x, y, attack=NO_ATTACK)
  ws = [np.asarray(p[f"Dense_{i}"]["kernel"]) for i in range(3)]
  w0s = [np.asarray(p0[f"Dense_{i}"]["kernel"]) for i in range(3)]
  spec = np.array([np.linalg.norm(w, 2) ** 2 for w in ws])
  fro = np.array([np.sum(w * w) for w in ws])
  for w in ws:
    np.testing.assert_allclose(measures.spectral_norm(jnp.asarray(w)), np.linalg.norm(w, 2),
                               rtol=1e-5)
  logits = np.asarray(apply_fn(p, x))
  gamma = abs(np.percentile(np.asarray(margin_lib.output_margins(jnp.asarray(logits), y)), 10))
  np.testing.assert_allclose(out["log_prod_of_spec"], np.sum(np.log(spec)), rtol=1e-4)
  np.testing.assert_allclose(out["log_prod_of_spec_over_margin"],
                             np.sum(np.log(spec)) - 2 * np.log(gamma), rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(out["log_sum_of_fro"], np.log(3) + np.sum(np.log(fro)) / 3,
                             rtol=1e-4)
  np.testing.assert_allclose(out["fro_dist"], sum(np.sum((a - b) ** 2) for a, b in zip(ws, w0s)),
                             rtol=1e-4)
  np.testing.assert_allclose(out["l2"], np.sqrt(fro.sum()), rtol=1e-5)
  assert out["params"] == sum(w.size for w in ws)  # weights only, biases excluded
  # Path norm (Jiang et al. 2020): weights and biases squared, on ones; every
  # pre-activation is then nonnegative, so the ReLUs pass it through.
  bs = [np.asarray(p[f"Dense_{i}"]["bias"]) for i in range(3)]
  assert all(np.all(b != 0) for b in bs)  # the biases matter to this check
  path = np.ones(12)
  for w, b in zip(ws, bs):
    path = path @ (w ** 2) + b ** 2
  without_biases = np.ones(12) @ (ws[0] ** 2) @ (ws[1] ** 2) @ (ws[2] ** 2)
  assert abs(path.sum() - without_biases.sum()) > 1e-2 * path.sum()
  np.testing.assert_allclose(out["path_norm"], path.sum(), rtol=1e-4)
  np.testing.assert_allclose(out["path_norm_over_margin"], path.sum() / gamma ** 2, rtol=1e-3)


def test_boundary_thickness_of_a_linear_boundary():
  # ||w||_2 = 1, x = 0.5: targeted PGD-L2 (eps 1) walks straight to x - w, so
  # a(t) = a0 - t, and 0 < tanh(a) < 0.75 holds for a in (0, atanh 0.75 = 0.973).
  w = np.array([0.5, -0.5, 0.5, 0.5])
  x = jnp.full((2, 4), 0.5)
  y = jnp.zeros(2, jnp.int32)
  for a0, want in ((0.5, 0.5), (1.5, 1.0 - (1.5 - np.arctanh(0.75)))):
    params = linear_params(w, a0 - 0.5 * w.sum())
    out = compute(["boundary_thickness"], two_class, params, params, x, y,
                           attack=NO_ATTACK)
    np.testing.assert_allclose(out["boundary_thickness"], want, atol=1.5 / 128)


def test_local_lipschitz_of_a_linear_model_is_twice_its_l1_norm():
  # ||f(x) - f(x')||_1 = 2 |w.(x - x')| <= 2 ||w||_1 ||x - x'||_inf, tight at sign(w).
  w = np.array([0.5, -1.0, 2.0, 0.25])
  x = jnp.full((3, 4), 0.5)
  y = jnp.zeros(3, jnp.int32)
  params = linear_params(w, 0.0)
  out = compute(["local_lipschitz"], two_class, params, params, x, y,
                attack=PGD(eps=0.1, steps=1, random_start=False))
  # Sign steps hover near the maximiser eps * sign(w) (the Linf denominator pulls
  # the largest coordinate back), so the estimate is a lower bound within ~10%.
  assert 0.85 * 2 * np.abs(w).sum() < out["local_lipschitz"] <= 2 * np.abs(w).sum()
  one = compute(["local_lipschitz"], two_class, linear_params(w[:1], 0.0),
                linear_params(w[:1], 0.0), x[:, :1], y,
                attack=PGD(eps=0.1, steps=1, random_start=False))
  np.testing.assert_allclose(one["local_lipschitz"], 2 * abs(w[0]), rtol=1e-4)  # any step


def test_input_margin_of_a_linear_model_is_its_distance_to_the_boundary():
  w, b = np.array([0.5, -1.0, 2.0, 0.25]), -0.6
  x = jax.random.uniform(KEY, (8, 4), minval=0.3, maxval=0.7)
  a = np.asarray(x) @ w + b
  y = jnp.asarray((a < 0).astype(np.int32))  # every point correctly classified
  params = linear_params(w, b)
  out = compute(["input_margin"], two_class, params, params, x, y,
                         attack=NO_ATTACK, options={"input_margin": {"norm": "linf"}})
  distance = np.abs(a) / np.abs(w).sum()  # Linf distance to a hyperplane: |a| / ||w||_1
  np.testing.assert_allclose(out["input_margin"], distance.mean(), rtol=2e-2)


W0 = 0.05  # every weight: off the stationary point w = 0, where ascent cannot start


def quadratic(params, x):
  """A 'model' with logits [5 - c ||w||^2, 0], c = 20 x_0 (x carries the curvature,
  so both curvatures share one compiled program): its loss at label 0 is
  softplus(u), u = c ||w||^2 - 5, with Hessian 2 c s(u) I + 4 c^2 s'(u) w w^T
  (s the sigmoid)."""
  s = 5.0 - 20.0 * x[:, 0] * jnp.sum(params["kernel"] ** 2)
  return jnp.stack([s, jnp.zeros_like(s)], axis=1)


@pytest.fixture(scope="module")
def quadratic_measures():
  params = {"kernel": jnp.full((6, 1), W0)}
  y = jnp.zeros(16, jnp.int32)
  names = ["hessian", "sharpness", "average_flatness", "pacbayes"]
  return {c: compute(names, quadratic, params, params, jnp.full((16, 2), c / 20.0), y,
                     attack=NO_ATTACK, options={"average_flatness": {"sigma": 0.3},
                                                "sharpness": {"rho": 0.5}})
          for c in (1.0, 10.0)}


def test_hessian_of_a_quadratic_is_its_closed_form(quadratic_measures):
  r = 6 * W0 ** 2  # ||w||^2
  for c, out in quadratic_measures.items():
    s = expit(c * r - 5.0)
    rank_one = 4 * c ** 2 * s * (1 - s)
    np.testing.assert_allclose(out["hessian_top_adv"], 2 * c * s + rank_one * r, rtol=1e-3)
    # Rademacher probes: z.Iz = d exactly; (z.w)^2 has mean ||w||^2 only, so the
    # rank-one part (5% of the trace) is a 20-probe estimate.
    np.testing.assert_allclose(out["hessian_trace_adv"], 6 * 2 * c * s + rank_one * r,
                               rtol=5e-2)


def test_a_flatter_quadratic_scores_flatter(quadratic_measures):
  flat, sharp = quadratic_measures[1.0], quadratic_measures[10.0]
  for name in ("hessian_top_adv", "sharpness_adv", "average_flatness_adv", "pacbayes_flatness"):
    assert flat[name] < sharp[name], name
  assert flat["pacbayes_sigma"] > sharp["pacbayes_sigma"]
  # A draw is misclassified once c ||w + sigma z||^2 > 5; with w ~ 0 and the same
  # draws z at both curvatures, sigma scales as 1 / sqrt(c) (up to the bisection's
  # resolution and tolerance).
  ratio = flat["pacbayes_sigma"] / sharp["pacbayes_sigma"]
  assert 2.4 < ratio < 4.2, ratio


def test_loss_family_and_kl_vanishes_without_attack(mlp):
  apply_fn, p, p0, x, y = mlp
  out = compute(["loss"], apply_fn, p, p0, x, y, attack=NO_ATTACK)
  logits = apply_fn(p, x)
  ce = -np.mean(np.take_along_axis(np.asarray(jax.nn.log_softmax(logits)),
                                   np.asarray(y)[:, None], 1))
  np.testing.assert_allclose(out["ce_clean"], ce, rtol=1e-5)
  np.testing.assert_allclose(out["ce_adv"], ce, rtol=1e-5)
  assert abs(float(out["kl"])) < 1e-6
  adv = compute(["loss"], apply_fn, p, p0, x, y,
                         attack=PGD(eps=0.1, step_size=0.03, steps=5))
  assert adv["ce_adv"] > adv["ce_clean"] and adv["kl"] > 0


def test_population_equals_members_one_by_one(mlp):
  apply_fn, p, p0, x, y = mlp
  stack = lambda t: jax.tree.map(lambda a: jnp.stack([a, 1.2 * a, 0.8 * a]), t)
  names = ["norm", "loss"]
  attack = PGD(eps=0.1, step_size=0.05, steps=2)
  pop = measures.compute_population(names, apply_fn, stack(p), stack(p0), x, y, key=KEY,
                                    attack=attack, chunk=2)
  for i in range(3):
    member = jax.tree.map(lambda a: a[i], stack(p))
    one = compute(names, apply_fn, member, jax.tree.map(lambda a: a[i], stack(p0)),
                  x, y, key=jax.random.fold_in(KEY, i), attack=attack)
    for name, value in one.items():
      np.testing.assert_allclose(pop[name][i], value, rtol=2e-4, atol=1e-5, err_msg=name)
