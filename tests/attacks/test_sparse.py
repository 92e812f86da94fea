"""Properties of the sparse attacks: OnePixel, Pixle and SparseFool."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust.attacks.deepfool import DeepFool
from jaxrobust.attacks.onepixel import OnePixel, set_pixels
from jaxrobust.attacks.pixle import Pixle
from jaxrobust.attacks.sparsefool import SparseFool, linear_solver


def _changed_pixels(x_adv, x):
  """Pixels (all channels together) that differ, per image: [batch]."""
  return np.asarray(jnp.any(x_adv != x, axis=-1)).reshape(x.shape[0], -1).sum(1)


def _quadrant_model(bias0, gain=4.0):
  """8x8 images, 3 classes: z_0 = bias0, z_k = gain * sum of quadrant k's pixels
  (k = 1: top right, 2: bottom right). A dark image is class 0; bright pixels
  in a right quadrant pull towards its class."""
  masks = np.zeros((3, 8, 8, 1), np.float32)
  masks[1, :4, 4:] = 1
  masks[2, 4:, 4:] = 1
  masks = jnp.asarray(masks)
  return lambda x: gain * jnp.einsum("bhwc,khwc->bk", x, masks) + jnp.array([bias0, 0, 0])


# ---------------------------------------------------------------- OnePixel

def test_set_pixels_writes_the_values_at_the_floored_positions():
  x = jnp.zeros((5, 6, 3))
  cand = jnp.array([[1.7, 4.2, 0.1, 0.2, 0.3], [4.99, 0.0, 1.0, 1.0, 1.0]])
  out = np.asarray(set_pixels(x, cand))
  np.testing.assert_allclose(out[1, 4], [0.1, 0.2, 0.3])
  np.testing.assert_allclose(out[4, 0], [1.0, 1.0, 1.0])
  assert (np.abs(out).sum(-1) > 0).sum() == 2


def test_onepixel_changes_at_most_pixels_pixels(mnist_model):
  pixels = 3
  logits_fn, x, y, _ = mnist_model
  x_adv = OnePixel(pixels=pixels, steps=3, popsize=8)(logits_fn, x[:32], y[:32],
                                                      key=jax.random.key(0))
  changed = _changed_pixels(x_adv, x[:32])
  assert changed.max() <= pixels and changed.max() >= 1


def test_onepixel_draws_three_distinct_other_members():
  from jaxrobust.attacks.onepixel import _distinct_others
  r = np.stack(_distinct_others(jax.random.key(0), 200, 5))
  assert np.all(r != np.arange(5)) and np.all(r[0] != r[1]) and np.all(r[0] != r[2])
  assert np.all(r[1] != r[2]) and r.min() == 0 and r.max() == 4
  # Uniform over the 4 other members: 1000 draws each, 250 expected per member.
  counts = np.array([np.sum(r[j] == (np.arange(5) + s) % 5) for j in range(3) for s in range(1, 5)])
  assert counts.min() > 180 and counts.max() < 320, counts


def test_onepixel_colour_images_and_targets():
  # One pixel of value > 0.5 in quadrant t makes t the class: reachable, and
  # the whole pixel (3 channels) is one change.
  logits_fn = _quadrant_model(bias0=2.0, gain=4.0 / 3)  # 3 channels of a pixel sum
  x = jnp.zeros((12, 8, 8, 3))
  target = jnp.array([1, 2] * 6)
  attack = OnePixel(pixels=1, steps=10, popsize=20, targeted=True)
  x_adv = attack(logits_fn, x, target, key=jax.random.key(0))
  assert float(jnp.mean(logits_fn(x_adv).argmax(-1) == target)) == 1.0
  assert _changed_pixels(x_adv, x).max() == 1
  untargeted = attack.replace(targeted=False)(logits_fn, x, jnp.zeros(12, jnp.int32),
                                              key=jax.random.key(0))
  assert float(jnp.mean(logits_fn(untargeted).argmax(-1) != 0)) == 1.0


def test_onepixel_evolution_beats_its_initial_population(mnist_model):
  # One generation of 16 members is random search; 8 generations must do better
  # on the true-class probability, pooled over 32 images.
  logits_fn, x, y, _ = mnist_model
  prob = lambda xa: float(jnp.mean(jax.nn.softmax(logits_fn(xa))[jnp.arange(32), y[:32]]))
  attack = OnePixel(pixels=3, steps=1, popsize=16)
  first = prob(attack(logits_fn, x[:32], y[:32], key=jax.random.key(1)))
  evolved = prob(attack.replace(steps=8)(logits_fn, x[:32], y[:32], key=jax.random.key(1)))
  assert evolved < first, (evolved, first)


# ---------------------------------------------------------------- Pixle

@pytest.mark.parametrize("mapping", ["random", "similarity"])
def test_pixle_only_copies_pixels_of_the_image(mapping):
  # Random colour images: every changed pixel of x_adv must equal (all 3 channels)
  # some pixel of its own clean image.
  x = jax.random.uniform(jax.random.key(0), (6, 8, 8, 3))
  w = jax.random.normal(jax.random.key(1), (8 * 8 * 3, 4))
  logits_fn = lambda z: z.reshape(z.shape[0], -1) @ w
  y = logits_fn(x).argmax(-1)
  x_adv = Pixle(restarts=4, max_iterations=5, pixel_mapping=mapping)(
      logits_fn, x, y, key=jax.random.key(2))
  assert _changed_pixels(x_adv, x).sum() > 0
  xa, xc = np.asarray(x_adv).reshape(6, 64, 3), np.asarray(x).reshape(6, 64, 3)
  for i in range(6):
    for p in np.flatnonzero(np.any(xa[i] != xc[i], axis=-1)):
      assert np.any(np.all(xc[i] == xa[i, p], axis=-1)), (i, p)


def test_pixle_targeted_moves_bright_pixels_into_the_target_quadrant():
  # Left half bright, right half dark: class 0 (bias 6). Three bright pixels in
  # quadrant t make t the class; they can only come from the left half.
  logits_fn = _quadrant_model(bias0=6.0, gain=2.5)
  x = jnp.zeros((16, 8, 8, 1)).at[:, :, :4].set(1.0)
  target = jnp.array([1, 2] * 8)
  x_adv = Pixle(restarts=10, max_iterations=10, targeted=True)(
      logits_fn, x, target, key=jax.random.key(0))
  assert float(jnp.mean(logits_fn(x_adv).argmax(-1) == target)) >= 0.9


def test_pixle_keeps_misclassified_images():
  logits_fn = _quadrant_model(bias0=6.0, gain=2.5)
  x = jnp.zeros((4, 8, 8, 1)).at[:, :, :4].set(1.0)
  wrong = jnp.ones(4, jnp.int32)  # the class is 0
  np.testing.assert_array_equal(
      Pixle(restarts=2, max_iterations=4)(logits_fn, x, wrong, key=jax.random.key(0)), x)


def test_pixle_rejects_bad_patch_sizes():
  for bad in ((0, 3), (4, 2), (0.5, 1.5), 3):
    with pytest.raises(ValueError, match="x_dimensions"):
      Pixle(x_dimensions=bad)


# ---------------------------------------------------------------- SparseFool

def _greedy_solver(x, normal, point):
  """The paper's LinearSolver loop (Algorithm 1, its code's beta and minimum step), in NumPy."""
  x = x.astype(np.float64).ravel().copy()
  n, p = normal.astype(np.float64).ravel(), point.astype(np.float64).ravel()
  coord = n.copy()
  sign_true = np.sign(n @ (x - p))
  beta = 1e-3 * sign_true
  while np.sign(n @ (x - p)) == sign_true and np.any(coord != 0):
    f = n @ (x - p) + beta
    j = np.argmax(np.abs(coord))
    x[j] = np.clip(x[j] + max(abs(f) / abs(coord[j]), 1e-4) * np.sign(coord[j]), 0, 1)
    coord[j] = 0
  return x


@pytest.mark.parametrize("seed", range(6))
def test_linear_solver_is_the_papers_greedy_loop(seed):
  rng = np.random.default_rng(seed)
  d = 40
  x = rng.uniform(size=d).astype(np.float32)
  normal = rng.normal(size=d).astype(np.float32)
  normal /= np.linalg.norm(normal)
  # The plane beyond x along the normal (f < 0 at x, the case after DeepFool),
  # near for even seeds (a few coordinates), far for odd ones (box-bound moves).
  point = (x + (0.1 if seed % 2 == 0 else 1.5) * normal).astype(np.float32)
  ours = np.asarray(linear_solver(jnp.asarray(x), jnp.asarray(normal), jnp.asarray(point)))
  np.testing.assert_allclose(ours, _greedy_solver(x, normal, point), atol=1e-5)
  moved = np.sum(ours != x)
  assert 1 <= moved < d


def test_sparsefool_on_a_linear_model_is_one_sparse_solve():
  # Linear binary model, lam = 1: DeepFool lands on the boundary (its overshoot
  # aside), the plane is the boundary itself and one solve crosses it.
  rng = np.random.default_rng(0)
  w = jnp.asarray(rng.normal(size=(64, 2)), jnp.float32)
  logits_fn = lambda x: x.reshape(x.shape[0], -1) @ w
  x = jnp.asarray(rng.uniform(0.3, 0.7, size=(8, 16, 4, 1)), jnp.float32)
  y = logits_fn(x).argmax(-1)
  x_adv = SparseFool(steps=5, lam=1.0)(logits_fn, x, y)
  assert np.all(np.asarray(logits_fn(x_adv).argmax(-1)) != np.asarray(y))
  # The greedy solve from x on the true boundary changes the same coordinates.
  dw = np.asarray(w[:, 1] - w[:, 0])
  for i in range(8):
    s = 1.0 if y[i] == 0 else -1.0
    normal = s * dw / np.linalg.norm(dw)
    f = float(np.asarray(x[i]).ravel() @ (s * dw))
    z = np.asarray(logits_fn(x[i:i + 1]))[0]
    point = np.asarray(x[i]).ravel() + abs(z[1] - z[0]) / np.linalg.norm(dw) * normal * 1.02
    ref = _greedy_solver(np.asarray(x[i]), normal, point)
    assert np.sum(np.asarray(x_adv[i]).ravel() != np.asarray(x[i]).ravel()) <= np.sum(
        ref != np.asarray(x[i]).ravel()) + 1, f


def test_sparsefool_is_sparse_where_deepfool_is_dense(mnist_model):
  logits_fn, x, y, _ = mnist_model
  x_sf = SparseFool(steps=3, deepfool_steps=5, num_classes=3)(logits_fn, x[:32], y[:32])
  x_df = DeepFool(steps=5, num_classes=3)(logits_fn, x[:32], y[:32])
  fooled = np.asarray(logits_fn(x_sf).argmax(-1) != y[:32])
  assert fooled.mean() > 0.9
  sparse, dense = _changed_pixels(x_sf, x[:32]), _changed_pixels(x_df, x[:32])
  # Measured: median 38 of 784 pixels for SparseFool, ~all unclipped ones for DeepFool.
  assert np.median(sparse[fooled]) < 100 and np.median(dense) > 300, (
      np.median(sparse), np.median(dense))


def test_sparsefool_leaves_misclassified_examples_alone(mnist_model):
  logits_fn, x, y, _ = mnist_model
  wrong = (y[:8] + 1) % 10
  np.testing.assert_array_equal(SparseFool(steps=2, deepfool_steps=3)(logits_fn, x[:8], wrong),
                                x[:8])
