"""Randomized smoothing: the closed form on a linear classifier, abstention, the attack
upper bound, the Clopper-Pearson bound against statsmodels, the report, bad input."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from jaxrobust import certify
from jaxrobust.attacks import EOTPGD
from jaxrobust.eval import certified as eval_certified
from tests.certify import _trained

SIGMA = 0.5
W, B = jnp.array([0.6, -0.8, 0.0]), 0.1  # ||w|| = 1: the radius is |w.x + b|


def linear(x):
  """A binary linear classifier: logits [z, -z], z = w.x + b."""
  z = x @ W + B
  return jnp.stack([z, -z], -1)


def linear_points(m, key=jax.random.key(0)):
  """m points [m, 3] at distances spread over (0.05, 1.5) sigma from the boundary."""
  d = jnp.linspace(0.05, 1.5, m) * SIGMA * jnp.where(jnp.arange(m) % 2, 1.0, -1.0)
  noise = jax.random.normal(key, (m, 3))
  along = noise - (noise @ W)[:, None] * W  # moves along the boundary change nothing
  return along + (d - B)[:, None] * W


def test_linear_radius_is_the_closed_form_within_its_interval():
  """p_A = Phi(|w.x + b| / sigma) exactly, so sigma Phi^-1(p_A) = |w.x + b|: it lies
  between the radii of the one-sided lower and upper Clopper-Pearson bounds."""
  x, alpha, n = linear_points(40), 1e-4, 20_000
  cert = certify.smoothed_certify(linear, x, sigma=SIGMA, n0=100, n=n, alpha=alpha,
                                  key=jax.random.key(1), batch_size=1000)
  margin = np.asarray(x @ W + B)
  exact = np.abs(margin)
  assert np.all(cert.prediction == np.where(margin > 0, 0, 1))  # none abstains here
  low, up = certify.clopper_pearson(cert.count, n, alpha)
  np.testing.assert_allclose(low, cert.p_lower)
  r_low, r_up = SIGMA * stats.norm.ppf(low), SIGMA * stats.norm.ppf(up)
  np.testing.assert_allclose(cert.radius, r_low)
  assert np.all(r_low <= exact) and np.all(exact <= r_up)
  assert np.max(exact - r_low) < 0.15 * SIGMA  # and the interval is informative


def test_clopper_pearson_is_statsmodels_beta():
  k, n, alpha = np.array([0, 1, 37, 99, 100]), 100, 0.01
  low, up = certify.clopper_pearson(k, n, alpha)
  want_low, want_up = proportion_confint(k, n, alpha=2 * alpha, method="beta")
  np.testing.assert_allclose(low, np.nan_to_num(want_low, nan=0.0), atol=1e-12)
  np.testing.assert_allclose(up, np.nan_to_num(want_up, nan=1.0), atol=1e-12)


def test_predict_abstains_by_the_binomial_test():
  """PREDICT's p-value is scipy's two-sided binomtest of n_A of n_A + n_B at 1/2."""
  x = linear_points(30)
  key, n, alpha = jax.random.key(4), 60, 0.05
  pred = certify.smoothed_predict(linear, x, sigma=SIGMA, n=n, alpha=alpha, key=key)
  counts = np.asarray(certify.smoothed_counts(linear, x, sigma=SIGMA, num=n, key=key))
  want = [int(np.argmax(c)) if stats.binomtest(int(c.max()), int(c.sum()), 0.5).pvalue
          <= alpha else certify.ABSTAIN for c in counts]
  np.testing.assert_array_equal(pred, want)
  assert 0 < np.mean(pred == certify.ABSTAIN) < 1


def test_abstention_rises_as_the_sample_count_falls():
  x = linear_points(60)
  rates = {}
  for n in (20, 200, 2000):
    cert = certify.smoothed_certify(linear, x, sigma=SIGMA, n0=10, n=n, alpha=0.001,
                                    key=jax.random.key(n))
    pred = certify.smoothed_predict(linear, x, sigma=SIGMA, n=n, alpha=0.001,
                                    key=jax.random.key(n + 1))
    rates[n] = (np.mean(cert.prediction == certify.ABSTAIN), np.mean(pred == certify.ABSTAIN))
  for i in range(2):
    assert rates[20][i] > rates[200][i] > rates[2000][i], rates


@functools.lru_cache(maxsize=None)
def smoothed_mlp():
  model, variables = _trained.trained("mlp", "gaussian_augmentation", steps=300, sigma=0.25)
  return lambda z: model.apply(variables, z, train=False)


@functools.partial(jax.jit, static_argnames="sigma")
def eot_pgd_points(attack, x, y, sigma):
  """EOT-PGD against the smoothed MLP: the gradient averaged over Gaussian draws."""
  f = smoothed_mlp()
  noisy = lambda z, k: f(z + sigma * jax.random.normal(k, z.shape, z.dtype))
  return attack(noisy, x, y, key=jax.random.key(2))


def test_certified_fraction_never_exceeds_eot_pgd_accuracy():
  """Certified accuracy at L2 radius r <= the smoothed classifier's accuracy under
  EOT-PGD (L2, r): no attacked point certified at r may be misclassified by g."""
  f = smoothed_mlp()
  _, _, x, y = _trained.digits()
  x, y, sigma = x[:48], y[:48], 0.25
  cert = certify.smoothed_certify(f, x, sigma=sigma, n0=64, n=1000, alpha=0.001,
                                  key=jax.random.key(0), batch_size=250)
  clean_g = certify.smoothed_counts(f, x, sigma=sigma, num=1000, key=jax.random.key(5),
                                    batch_size=250).argmax(-1)
  radii = (0.25, 0.5)
  curve = certify.smoothed_curve(cert, y, radii)
  assert curve[0] > 0.3  # a meaningful certificate
  for r, frac in zip(radii, curve):
    attack = EOTPGD(eps=r, step_size=r / 4, steps=10, eot_iter=8, norm="l2")
    x_adv = eot_pgd_points(attack, x, y, sigma)
    assert float(jnp.sqrt(((x_adv - x) ** 2).sum((1, 2, 3))).max()) <= r + 1e-5
    # g at x_adv by its Monte Carlo argmax (no abstention: g itself, not PREDICT).
    g = np.asarray(certify.smoothed_counts(f, x_adv, sigma=sigma, num=1000,
                                           key=jax.random.key(3), batch_size=250).argmax(-1))
    certified_at_r = (cert.prediction == np.asarray(y)) & (cert.radius >= r)
    assert not np.any(certified_at_r & (g != np.asarray(y))), r
    assert frac <= np.mean(g == np.asarray(y))
  assert np.mean(g == np.asarray(y)) < np.mean(np.asarray(clean_g) == np.asarray(y))


def test_report_has_the_certified_report_keys_and_the_curve():
  f = lambda z: linear(z.reshape(z.shape[0], -1))
  images = np.round(np.clip(np.asarray(jax.random.uniform(jax.random.key(0), (16, 1, 3, 1))),
                            0, 1) * 255).astype(np.uint8)
  labels = np.asarray(f(jnp.asarray(images, jnp.float32) / 255).argmax(-1))
  r = eval_certified.smoothing_report(f, images, labels, sigma=SIGMA, eps=0.1,
                                      radii=(0.0, 0.1, 0.2), n0=20, n=500,
                                      key=jax.random.key(0))
  assert set(r) >= {"certified_accuracy", "certified_time_s", "certified", "curve"}
  assert r["curve"]["eps"] == [0.0, 0.1, 0.2]
  assert r["certified_accuracy"]["smoothing"] == pytest.approx(r["curve"]["smoothing"][1])
  assert r["curve"]["smoothing"] == sorted(r["curve"]["smoothing"], reverse=True)
  assert not eval_certified.order_warnings({**r, "clean_accuracy": 1.0})


@pytest.mark.parametrize("bad,match", [
    ({"sigma": 0.0}, "sigma must be finite and > 0"),
    ({"sigma": -1.0}, "sigma"),
    ({"alpha": 0.0}, "alpha"),
    ({"alpha": 1.0}, r"alpha must lie in \(0, 1\)"),
    ({"n0": 100, "n": 100}, "n0 .* must be < n"),
    ({"n0": 0}, "n0 must be an integer >= 1"),
    ({"batch_size": 0}, "batch_size"),
])
def test_bad_input_names_the_argument(bad, match):
  args = {"sigma": SIGMA, "n0": 10, "n": 100, "alpha": 0.01, "batch_size": 16, **bad}
  with pytest.raises(ValueError, match=match):
    certify.smoothed_certify(linear, linear_points(4), key=jax.random.key(0), **args)
  with pytest.raises(ValueError, match="radii"):
    zeros = np.zeros(2, int)
    certify.smoothed_curve(certify.SmoothedCertificate(zeros, zeros, zeros, zeros), zeros, [-1.0])
