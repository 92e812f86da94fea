"""jaxrobust.eval.features: a classifier's penultimate features, their statistics and
the Frechet distance (the FID formula) between two feature sets."""

import jax
import numpy as np
import pytest

from jaxrobust import eval as jr_eval, models


def test_frechet_distance_matches_the_closed_form_for_diagonal_gaussians():
  rng = np.random.default_rng(0)
  a = rng.standard_normal((20000, 3)) * [1.0, 2.0, 0.5] + [0.0, 1.0, 0.0]
  b = rng.standard_normal((20000, 3)) * [2.0, 1.0, 0.5] + [1.0, 1.0, 0.0]
  # ||mu_a - mu_b||^2 + sum (sigma_a - sigma_b)^2 for diagonal covariances.
  assert jr_eval.frechet_distance(a, b) == pytest.approx(1.0 + 1.0 + 1.0, abs=0.08)
  assert jr_eval.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_matches_scipy_and_survives_dead_features():
  import scipy.linalg
  rng = np.random.default_rng(1)
  a = rng.standard_normal((300, 5)) @ rng.standard_normal((5, 5))
  b = rng.standard_normal((200, 5)) @ rng.standard_normal((5, 5)) + 0.5
  s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  reference = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(
      s_a + s_b - 2 * np.real(scipy.linalg.sqrtm(s_a @ s_b)))
  assert jr_eval.frechet_distance(a, b) == pytest.approx(reference, rel=1e-8)
  # Dead ReLU units (zero columns) make both covariances singular; the distance is unchanged.
  dead = lambda x: np.concatenate([x, np.zeros((len(x), 3))], axis=1)
  assert jr_eval.frechet_distance(dead(a), dead(b)) == pytest.approx(reference, rel=1e-8)


def test_feature_statistics_and_bad_shapes():
  x = np.arange(12.0).reshape(6, 2)
  mean, cov = jr_eval.feature_statistics(x)
  np.testing.assert_allclose(mean, [5.0, 6.0])
  np.testing.assert_allclose(cov, np.cov(x, rowvar=False))
  with pytest.raises(ValueError, match="n >= 2"):
    jr_eval.feature_statistics(x[:1])
  with pytest.raises(ValueError, match=r"\[n, d\]"):
    jr_eval.frechet_distance(x, np.zeros((6, 3)))


def test_penultimate_features_are_the_hidden_relu_batched():
  model = models.make("small_cnn", num_classes=3, mean=(0.0,), std=(1.0,), features=(4,),
                      hidden=5)
  x = jax.random.uniform(jax.random.key(0), (6, 8, 8, 1))  # two batches of one shape
  variables = model.init(jax.random.key(1), x[:1], train=False)
  feats = jr_eval.penultimate_features(model, variables, x, batch_size=3)
  assert feats.shape == (6, 5) and feats.min() >= 0
  # The output layer applied to them gives the model's logits.
  dense = variables["params"]["Dense_1"]
  logits = feats @ np.asarray(dense["kernel"]) + np.asarray(dense["bias"])
  np.testing.assert_allclose(logits, np.asarray(model.apply(variables, x, train=False)),
                             rtol=1e-5, atol=1e-5)

