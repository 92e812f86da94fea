"""Models: shapes, the logits_fn bridge, BatchNorm modes, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import models

MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
SMALL = {
    "linear": {},
    "mlp": {"hidden": (16,)},
    "small_cnn": {"features": (4, 8), "hidden": 16},
    "preact_resnet18": {"width": 4},
    "wide_resnet": {"depth": 10, "width": 1},
    "resnet": {"depth": 18, "width": 4},
    "cifar_resnet": {"depth": 18, "width": 4},
    "dm_wide_resnet": {"depth": 10, "width": 1},
    "dm_preact_resnet": {"width": 4},
    "robust_wide_resnet": {"channels": (8, 16), "depths": (1, 1)},
    "randomized_cnn": {"features": (4, 8), "hidden": 16, "input_noise": 0.1, "resize_pad": 2},
}


def _build(name, **options):
  model = models.make(name, num_classes=7, mean=MEAN, std=STD, **options)
  x = jax.random.uniform(jax.random.key(0), (3, 16, 16, 3))
  return model, model.init(jax.random.key(1), x), x


# Speech models take waveforms; tests/audio/test_speech.py covers them.
IMAGE_MODELS = sorted(n for n in models.MODELS if not n.startswith("speech_"))


def test_every_image_model_has_a_small_variant_here():
  assert set(IMAGE_MODELS) == set(SMALL)


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_every_model_maps_images_to_logits_and_matches_logits_fn(name):
  model, variables, x = _build(name, **SMALL[name])
  logits = models.as_logits_fn(model, variables)(x)
  assert logits.shape == (3, 7)
  assert np.all(np.isfinite(logits))
  np.testing.assert_allclose(logits, model.apply(variables, x, train=False))
  # Each example is processed on its own in eval mode.
  np.testing.assert_allclose(models.as_logits_fn(model, variables)(x[:1]), logits[:1],
                             rtol=1e-5, atol=1e-5)


def test_full_size_architectures_have_the_published_parameter_counts():
  # PreAct ResNet-18 on CIFAR-10: 11.17M; WRN-28-10: 36.5M (Zagoruyko & Komodakis).
  counts = {}
  for name, options in [("preact_resnet18", {}), ("wide_resnet", {"depth": 28, "width": 10})]:
    model = models.make(name, num_classes=10, mean=MEAN, std=STD, **options)
    shapes = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 32, 32, 3)))
    counts[name] = sum(np.prod(a.shape) for a in jax.tree.leaves(shapes["params"]))
  assert counts["preact_resnet18"] == pytest.approx(11.17e6, rel=0.01)
  assert counts["wide_resnet"] == pytest.approx(36.48e6, rel=0.01)


def test_normalization_is_inside_the_model():
  model, variables, x = _build("linear")
  kernel = variables["params"]["Dense_0"]["kernel"]
  bias = variables["params"]["Dense_0"]["bias"]
  expected = ((x - jnp.asarray(MEAN)) / jnp.asarray(STD)).reshape(3, -1) @ kernel + bias
  np.testing.assert_allclose(model.apply(variables, x), expected, rtol=1e-5, atol=1e-5)


def test_batchnorm_train_mode_uses_batch_statistics_and_updates_running_ones():
  model, variables, x = _build("small_cnn", features=(4, 8), hidden=16, batchnorm=True)
  assert "batch_stats" in variables
  out, updates = model.apply(variables, x, train=True, mutable=["batch_stats"])
  assert out.shape == (3, 7)
  moved = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()),
                       variables["batch_stats"], updates["batch_stats"])
  assert max(jax.tree.leaves(moved)) > 0
  # Train mode: an example's output depends on the rest of the batch.
  alone, _ = model.apply(variables, x[:1], train=True, mutable=["batch_stats"])
  assert not np.allclose(alone, out[:1], atol=1e-4)
  # Eval mode: it does not, and nothing is mutated.
  evaluated = model.apply(variables, x, train=False)
  np.testing.assert_allclose(model.apply(variables, x[:1], train=False), evaluated[:1],
                             rtol=1e-5, atol=1e-5)


def test_bad_inputs_raise_clear_errors():
  model, variables, x = _build("small_cnn", **SMALL["small_cnn"])
  with pytest.raises(TypeError, match="floating point"):
    model.apply(variables, (x * 255).astype(jnp.uint8))
  with pytest.raises(ValueError, match=r"\[batch, height, width, 3\]"):
    model.apply(variables, x[..., :1])
  with pytest.raises(ValueError, match=r"\[batch, height, width, 3\]"):
    model.apply(variables, x[0])


def test_unknown_model_and_option_names():
  with pytest.raises(ValueError, match="valid choices.*small_cnn"):
    models.make("vgg", num_classes=10, mean=MEAN, std=STD)
  with pytest.raises(ValueError, match="valid options.*features"):
    models.make("small_cnn", num_classes=10, mean=MEAN, std=STD, depth=3)
  with pytest.raises(ValueError, match="6n \\+ 4"):
    _build("wide_resnet", depth=11, width=1)
