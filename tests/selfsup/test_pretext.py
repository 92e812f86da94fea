"""Pretext transforms: level 0 is the identity, deterministic per key, inverses where they
exist, PIL parity on 8-bit images, and named errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

from jaxrobust.selfsup import pretext

ALL = pretext.PRETEXT_TASKS.names()


def images(n=3, size=8, channels=1, seed=0):
  return jax.random.uniform(jax.random.key(seed), (n, size, size, channels))


@pytest.mark.parametrize("name", ALL)
def test_level_zero_is_identity_and_outputs_stay_in_range(name):
  task = pretext.PRETEXT_TASKS.make(name)
  x = jnp.round(images(channels=3) * 255) / 255  # 8-bit values: posterize's identity
  np.testing.assert_allclose(task.apply(x, jnp.zeros(3, jnp.int32)), x, atol=1e-6)
  for level in (1, task.num_classes - 1):
    out = task.apply(x, jnp.full(3, level))
    assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 1


def test_views_are_deterministic_per_key():
  tasks = pretext.PRETEXT_TASKS.make_all(list(ALL))
  x = images(n=16, channels=3)
  v1, y1 = pretext.make_views(tasks, x, jax.random.key(3))
  v2, y2 = pretext.make_views(tasks, x, jax.random.key(3))
  np.testing.assert_array_equal(v1, v2)
  np.testing.assert_array_equal(y1, y2)
  _, y3 = pretext.make_views(tasks, x, jax.random.key(4))
  assert y1.shape == (len(ALL), 16) and not np.array_equal(y1, y3)


def test_rotation_inverses():
  x = images(channels=3)[0]
  for k in range(4):
    np.testing.assert_array_equal(pretext.rotate90(pretext.rotate90(x, k), 4 - k), x)
  once = x
  for _ in range(4):
    once = pretext.rotate90(once, 1)
  np.testing.assert_array_equal(once, x)
  np.testing.assert_array_equal(pretext.rotate90(x, 1), jnp.rot90(x, 1, axes=(0, 1)))


def test_involutions_and_idempotence():
  x = images()
  # Threshold 0 inverts every pixel: an involution. Higher thresholds are not invertible
  # (bright pixels land below the threshold and stay there).
  np.testing.assert_allclose(pretext.solarize(pretext.solarize(x, 0.0), 0.0), x, atol=1e-6)
  np.testing.assert_allclose(pretext.solarize(x, 0.0), 1 - x)
  for bits in (1, 3, 5):
    once = pretext.posterize(x, bits)
    np.testing.assert_allclose(pretext.posterize(once, bits), once, atol=1e-6)


def test_contrast_and_brightness_invert_without_clipping():
  x = 0.2 + 0.25 * images()  # in [0.2, 0.45]: factor 2 stays inside [0, 1]
  for f in (0.5, 2.0):
    np.testing.assert_allclose(pretext.brighten(pretext.brighten(x, f), 1 / f), x, atol=1e-6)
    back = jax.vmap(lambda im: pretext.contrast(pretext.contrast(im, f), 1 / f))(x)
    np.testing.assert_allclose(back, x, atol=1e-6)


def test_color_is_the_identity_on_grayscale():
  x = images()
  for f in (0.0, 0.5, 2.0):
    np.testing.assert_array_equal(pretext.saturate(x[0], f), x[0])


@pytest.mark.parametrize("name,pil", [
    # PIL inverts bytes >= its threshold; ours inverts x >= t, i.e. bytes >= ceil(255 t).
    ("solarize", lambda im, t: ImageOps.solarize(im, math.ceil(t * 255))),
    ("posterize", lambda im, b: ImageOps.posterize(im, int(b))),
    ("brightness", lambda im, f: ImageEnhance.Brightness(im).enhance(f)),
    ("color", lambda im, f: ImageEnhance.Color(im).enhance(f)),
    ("contrast", lambda im, f: ImageEnhance.Contrast(im).enhance(f)),
    ("sharpness", lambda im, f: ImageEnhance.Sharpness(im).enhance(f)),
])
def test_matches_pil_on_8bit_images(name, pil):
  """PIL works in uint8 (rounding each result; Contrast rounds the mean gray level to an
  integer): agreement within 2/255. Sharpness compares interior pixels (borders: PIL's
  filter edge handling)."""
  task = pretext.PRETEXT_TASKS.make(name)
  rgb = np.asarray(jax.random.randint(jax.random.key(1), (12, 12, 3), 0, 256), np.uint8)
  x = jnp.asarray(rgb, jnp.float32) / 255
  for level, magnitude in enumerate(task.levels):
    if name == "solarize" and magnitude > 1:
      continue  # PIL's threshold is a byte
    ours = np.asarray(task.apply(x[None], jnp.array([level]))[0]) * 255
    theirs = np.asarray(pil(Image.fromarray(rgb), magnitude), np.float64)
    if name == "sharpness":
      ours, theirs = ours[1:-1, 1:-1], theirs[1:-1, 1:-1]
    np.testing.assert_allclose(ours, theirs, atol=2.0, err_msg=f"{name} level {magnitude}")


def test_bad_input_is_named():
  with pytest.raises(ValueError, match="Unknown pretext task 'jigsaw'.*'rotation'"):
    pretext.PRETEXT_TASKS.make("jigsaw")
  with pytest.raises(ValueError, match=r"quarter turns in \(0, 1, 2, 3\)"):
    pretext.PRETEXT_TASKS.make("rotation", levels=(0, 5))
  with pytest.raises(ValueError, match="at least two distinct"):
    pretext.PRETEXT_TASKS.make("solarize", levels=(0.5, 0.5))
  with pytest.raises(ValueError, match=r"integers in \[1, 8\]"):
    pretext.PRETEXT_TASKS.make("posterize", levels=(8, 0))
  with pytest.raises(ValueError, match="each pretext task may appear once"):
    pretext.PRETEXT_TASKS.make_all(["rotation", "rotation"])
  with pytest.raises(ValueError, match="non-empty sequence"):
    pretext.PRETEXT_TASKS.make_all("rotation")
  with pytest.raises(ValueError, match="square images"):
    pretext.rotate90(jnp.zeros((4, 6, 1)), 1)
  with pytest.raises(ValueError, match=r"\[batch, h, w, c\]"):
    pretext.PRETEXT_TASKS.make("contrast").apply(jnp.zeros((4, 4, 1)), jnp.zeros(4, jnp.int32))
