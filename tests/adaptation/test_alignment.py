"""The class-conditional MMD: zero when same-class features coincide across domains,
positive otherwise, blind to marginal-only alignment, and its bad inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust.adaptation import class_conditional_mmd, gaussian_kernel, pseudo_labels


def _clusters(key, classes=3, per_class=4, dim=5):
  centres = 4.0 * jax.random.normal(key, (classes, dim))
  labels = jnp.repeat(jnp.arange(classes), per_class)
  points = centres[labels] + 0.3 * jax.random.normal(jax.random.fold_in(key, 1),
                                                      (classes * per_class, dim))
  return points, labels


def test_zero_when_same_class_features_coincide():
  fs, ys = _clusters(jax.random.key(0))
  perm = jax.random.permutation(jax.random.key(1), len(ys))
  ft, yt = fs[perm], ys[perm]  # the same points, shuffled, with one-hot pseudo-labels
  mmd = class_conditional_mmd(fs, ys, ft, jax.nn.one_hot(yt, 3))
  assert abs(float(mmd)) < 1e-6


def test_positive_when_classes_are_swapped_even_with_equal_marginals():
  fs, ys = _clusters(jax.random.key(0))
  # Target = source points, but every point's class moved on by one: the
  # feature marginals are identical (what DANN aligns), the classes are not.
  mmd = class_conditional_mmd(fs, ys, fs, jax.nn.one_hot((ys + 1) % 3, 3))
  assert float(mmd) > 0.1
  # Shifting the target features away raises it from zero as well.
  shifted = class_conditional_mmd(fs, ys, fs + 1.0, jax.nn.one_hot(ys, 3))
  assert float(shifted) > 1e-3


def test_matches_a_brute_force_weighted_mmd():
  key = jax.random.key(4)
  fs = jax.random.normal(key, (6, 3))
  ys = jnp.array([0, 1, 1, 0, 1, 0])
  ft = jax.random.normal(jax.random.fold_in(key, 1), (5, 3)) + 0.5
  pt = jax.nn.softmax(jax.random.normal(jax.random.fold_in(key, 2), (5, 2)))
  k = np.asarray(gaussian_kernel(jnp.concatenate([fs, ft])))
  want = []
  for c in range(2):
    a = (np.asarray(ys) == c) / (np.asarray(ys) == c).sum()
    b = np.asarray(pt[:, c]) / np.asarray(pt[:, c]).sum()
    want.append(a @ k[:6, :6] @ a + b @ k[6:, 6:] @ b - 2 * a @ k[:6, 6:] @ b)
  assert float(class_conditional_mmd(fs, ys, ft, pt)) == pytest.approx(np.mean(want),
                                                                      rel=1e-5)


def test_classes_missing_from_a_batch_are_left_out():
  fs, ys = _clusters(jax.random.key(0), classes=3)
  keep = ys < 2  # class 2 absent from the source batch
  full = class_conditional_mmd(fs[keep], ys[keep], fs[keep], jax.nn.one_hot(ys[keep], 3))
  assert abs(float(full)) < 1e-6 and np.isfinite(float(full))


def test_pseudo_labels_are_fixed_and_thresholded():
  logits = jnp.array([[4.0, 0.0], [0.1, 0.0]])
  p = pseudo_labels(logits, confidence=0.9)
  np.testing.assert_allclose(p[0], jax.nn.softmax(logits[0]), rtol=1e-6)
  np.testing.assert_array_equal(p[1], 0.0)
  g = jax.grad(lambda l: pseudo_labels(l).sum())(logits)
  np.testing.assert_array_equal(g, 0.0)


def test_bad_inputs_are_named():
  fs, ys = _clusters(jax.random.key(0))
  with pytest.raises(ValueError, match="same width"):
    class_conditional_mmd(fs, ys, fs[:, :2], jax.nn.one_hot(ys, 3))
  with pytest.raises(ValueError, match=r"must lie in \[0, 2\)"):
    class_conditional_mmd(fs, ys, fs, jax.nn.one_hot(ys, 2))  # class counts differ
  with pytest.raises(ValueError, match="needs source and target points"):
    class_conditional_mmd(fs, ys, fs[:0], jnp.zeros((0, 3)))
