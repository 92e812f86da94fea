"""Feature statistics of a classifier and the Frechet distance between feature sets:
the FID formula (Heusel et al., "GANs Trained by a Two Time-Scale Update Rule
Converge to a Local Nash Equilibrium", NeurIPS 2017) in any feature space, here
a small classifier's penultimate layer standing in for Inception (no Inception
weights offline), so a distance is comparable only within one feature space.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import _checks


def penultimate_features(model, variables_, images, batch_size: int = 500) -> np.ndarray:
  """The input of a `small_cnn`'s output layer (the ReLU of its hidden Dense) [n, hidden]:
  the feature space of the Frechet distance (our classifier stands in for Inception)."""
  _checks.check_int("batch_size", batch_size, 1)
  _checks.check_unit_images("images", images)

  @jax.jit
  def features(x):
    _, inter = model.apply(variables_, x, train=False, capture_intermediates=lambda m, _: (
        m.name == "Dense_0"))
    return jax.nn.relu(inter["intermediates"]["Dense_0"]["__call__"][0])
  return np.concatenate([np.asarray(features(jnp.asarray(images[i:i + batch_size])))
                         for i in range(0, len(images), batch_size)])


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
  """(mean [d], covariance [d, d]) in float64 of a feature set [n, d], n >= 2."""
  f = np.asarray(features, np.float64)
  if f.ndim != 2 or len(f) < 2:
    raise ValueError(f"features must be [n, d] with n >= 2, got shape {f.shape}.")
  _checks.check_array_range("features", f)
  return f.mean(0), np.atleast_2d(np.cov(f, rowvar=False))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
  """||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)) of two feature sets [n, d]
  (Heusel et al., NeurIPS 2017, the FID formula; any feature space).

  tr (S_a S_b)^(1/2) is computed as the sum of the square roots of the
  eigenvalues of the symmetric S_a^(1/2) S_b S_a^(1/2) (the same spectrum), which
  stays exact when ReLU features leave the covariances singular, where a
  general matrix square root of S_a S_b is inaccurate.
  """
  if np.ndim(a) != 2 or np.ndim(b) != 2 or np.shape(a)[1] != np.shape(b)[1] or min(
      len(a), len(b)) < 2:
    raise ValueError(f"features must be [n, d] with n >= 2 and one d, got {np.shape(a)} and "
                     f"{np.shape(b)}.")
  (mu_a, s_a), (mu_b, s_b) = feature_statistics(a), feature_statistics(b)
  w, v = np.linalg.eigh(s_a)
  root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
  middle = np.linalg.eigvalsh(root_a @ s_b @ root_a)
  trace_root = np.sum(np.sqrt(np.clip(middle, 0, None)))
  return float(np.sum((mu_a - mu_b) ** 2) + np.trace(s_a) + np.trace(s_b) - 2.0 * trace_root)
