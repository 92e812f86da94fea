"""Randomized models: the zero-noise twin, draws by key, Bayesian layers and their KL, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrobust import models
from jaxrobust.models import randomized

MEAN, STD = (0.5,), (0.25,)
SMALL = {"features": (4, 8), "hidden": 16}


def _x(n=4, size=12, key=0):
  return jax.random.uniform(jax.random.key(key), (n, size, size, 1))


def _create(name="randomized_cnn", **options):
  return models.make(name, num_classes=5, mean=MEAN, std=STD, **SMALL, **options)


@pytest.fixture(scope="module")
def twin():
  """A SmallCNN and its variables: the deterministic twin of every RandomizedCNN here."""
  model = _create("small_cnn")
  return model, model.init(jax.random.key(1), _x())


@pytest.mark.parametrize("options", [{}, {"input_noise": 0.0, "activation_noise": 0.0}])
def test_zero_noise_equals_the_deterministic_twin_with_or_without_a_key(twin, options):
  small, variables = twin
  model = _create(**options)
  assert not model.randomized
  expected = small.apply(variables, _x())
  np.testing.assert_array_equal(model.apply(variables, _x()), expected)
  logits_fn = models.as_randomized_logits_fn(model, variables)
  np.testing.assert_array_equal(logits_fn(_x(), jax.random.key(7)), expected)


def test_noisy_model_without_the_stream_is_the_twin_and_with_it_draws_by_key(twin):
  small, variables = twin
  model = _create(input_noise=0.2, activation_noise=0.1)
  assert model.randomized
  np.testing.assert_array_equal(model.apply(variables, _x()), small.apply(variables, _x()))
  np.testing.assert_array_equal(models.as_logits_fn(model, variables)(_x()),
                                small.apply(variables, _x()))
  logits_fn = models.as_randomized_logits_fn(model, variables)
  a, b = logits_fn(_x(), jax.random.key(1)), logits_fn(_x(), jax.random.key(2))
  assert float(jnp.abs(a - b).max()) > 1e-3
  np.testing.assert_array_equal(a, logits_fn(_x(), jax.random.key(1)))  # same key, same net
  sample = models.sample_logits_fn(model, variables, jax.random.key(1))
  np.testing.assert_array_equal(sample(_x()), a)


def test_input_noise_has_its_std_in_pixel_units():
  noise = randomized.GaussianNoise(0.3)
  x = jnp.zeros((64, 8, 8, 1))
  out = noise.apply({}, x, rngs={"noise": jax.random.key(0)})
  assert abs(float(out.std()) - 0.3) < 0.02 and abs(float(out.mean())) < 0.02
  np.testing.assert_array_equal(noise.apply({}, x), x)  # no stream: the identity


def test_bayesian_zero_std_is_the_twin_and_a_draw_is_one_network_per_pass(twin):
  small, variables = twin
  model = _create(bayesian=True)
  bayes = model.init(jax.random.key(1), _x())
  # Means are SmallCNN's parameters, with the same names; the rest are the stds.
  assert randomized.deterministic_twin_params(bayes["params"]).keys() == variables["params"].keys()
  assert jax.tree.map(jnp.shape, randomized.deterministic_twin_params(bayes["params"])) == \
      jax.tree.map(jnp.shape, variables["params"])
  means = jax.tree.map(lambda a: a, variables["params"])
  params = {layer: {**means[layer], **{k: jnp.full_like(v, -200.0) for k, v in p.items()
                                        if k.endswith("_rho")}}
            for layer, p in bayes["params"].items()}   # sigma = softplus(-200) = 0
  logits_fn = models.as_randomized_logits_fn(model, {"params": params})
  np.testing.assert_allclose(logits_fn(_x(), jax.random.key(3)), small.apply(variables, _x()),
                             rtol=1e-6, atol=1e-6)
  # With its initial std the weights are drawn once per pass: an example's
  # logits depend on the rest of the batch only through that shared draw.
  noisy = models.as_randomized_logits_fn(model, bayes)
  key = jax.random.key(4)
  full, alone = noisy(_x(), key), noisy(_x()[:1], key)
  np.testing.assert_allclose(full[:1], alone, rtol=1e-5, atol=1e-5)
  assert float(jnp.abs(full - noisy(_x(), jax.random.key(5))).max()) > 0


def test_kl_divergence_closed_form_and_gradient():
  prior = 0.1
  mu = jnp.array([[0.0, 0.05], [-0.2, 0.3]])
  sigma = jnp.array([[0.1, 0.02], [0.3, 0.1]])
  rho = jnp.log(jnp.expm1(sigma))
  params = {"Dense_0": {"kernel": mu, "kernel_rho": rho}, "other": {"scale": jnp.ones(3)}}
  expected = jnp.sum(jnp.log(prior / sigma) + (sigma ** 2 + mu ** 2) / (2 * prior ** 2) - 0.5)
  np.testing.assert_allclose(models.kl_divergence(params, prior), expected, rtol=1e-5)
  # Monte Carlo check of the closed form: E_q[log q(w) - log p(w)].
  w = mu + sigma * jax.random.normal(jax.random.key(0), (200_000,) + mu.shape)
  log_q = -jnp.log(sigma) - (w - mu) ** 2 / (2 * sigma ** 2)
  log_p = -jnp.log(prior) - w ** 2 / (2 * prior ** 2)
  np.testing.assert_allclose(jnp.mean(jnp.sum(log_q - log_p, axis=(1, 2))), expected, rtol=0.02)
  # Zero at the prior; zero without Bayesian layers; the gradient reaches mu and rho.
  at_prior = {"d": {"kernel": jnp.zeros(4), "kernel_rho": jnp.full(4, jnp.log(jnp.expm1(prior)))}}
  np.testing.assert_allclose(models.kl_divergence(at_prior, prior), 0.0, atol=1e-5)
  assert float(models.kl_divergence({"d": {"kernel": mu}}, prior)) == 0.0
  grads = jax.grad(lambda p: models.kl_divergence(p, prior))(params)
  np.testing.assert_allclose(grads["Dense_0"]["kernel"], mu / prior ** 2, rtol=1e-5)
  np.testing.assert_allclose(grads["Dense_0"]["kernel_rho"],
                             (-1 / sigma + sigma / prior ** 2) * jax.nn.sigmoid(rho),
                             rtol=1e-4, atol=1e-4)


def test_add_kl_gradient_adds_the_weighted_kl_gradient():
  params = {"l": {"kernel": jnp.array([0.5, -1.0]), "kernel_rho": jnp.array([-3.0, 0.0])}}
  grads = jax.tree.map(jnp.ones_like, params)
  tx = models.add_kl_gradient(0.25, 0.1)
  out, _ = tx.update(grads, tx.init(params), params)
  kl = jax.grad(lambda p: models.kl_divergence(p, 0.1))(params)
  jax.tree.map(lambda o, k: np.testing.assert_allclose(o, 1 + 0.25 * k, rtol=1e-6), out, kl)
  with pytest.raises(ValueError, match="needs the params"):
    tx.update(grads, tx.init(params))
  assert isinstance(optax.chain(tx, optax.sgd(0.1)), optax.GradientTransformation)


def test_random_resize_and_pad_places_a_resized_copy_on_the_canvas():
  layer = randomized.RandomResizePad(max_pad=4)
  ones = jnp.ones((16, 10, 10, 1))
  # Without the stream: the image at the centre, no resize.
  np.testing.assert_array_equal(layer.apply({}, ones)[0, 2:12, 2:12], ones[0])
  assert float(layer.apply({}, ones).sum()) == 16 * 100
  out = layer.apply({}, ones, rngs={"noise": jax.random.key(0)})
  assert out.shape == (16, 14, 14, 1)
  sides = set()
  for image in np.asarray(out[..., 0]):
    rows, cols = np.nonzero(image > 0.5)
    side = rows.max() - rows.min() + 1
    assert side == cols.max() - cols.min() + 1 and 10 <= side <= 14
    np.testing.assert_allclose(image[rows.min():rows.max() + 1, cols.min():cols.max() + 1], 1.0,
                               atol=1e-5)  # a constant image stays constant when resized
    sides.add(side)
  assert len(sides) > 1  # sizes are drawn per example
  again = layer.apply({}, ones, rngs={"noise": jax.random.key(0)})
  np.testing.assert_array_equal(out, again)
  # Differentiable in the image.
  g = jax.grad(lambda x: layer.apply({}, x, rngs={"noise": jax.random.key(1)}).sum())(ones)
  assert float(jnp.abs(g).sum()) > 0


def test_resize_pad_model_runs_and_its_twin_is_the_centred_image():
  model = _create(resize_pad=3, input_noise=0.1)
  x = _x()
  variables = model.init(jax.random.key(0), x)
  assert models.as_randomized_logits_fn(model, variables)(x, jax.random.key(2)).shape == (4, 5)
  twin = _create()
  centred = jnp.pad(x, ((0, 0), (1, 2), (1, 2), (0, 0)))
  np.testing.assert_allclose(model.apply(variables, x), twin.apply(variables, centred),
                             rtol=1e-6, atol=1e-6)


def test_bad_inputs_raise_clear_errors():
  with pytest.raises(ValueError, match="input_noise must be finite and >= 0"):
    _create(input_noise=-0.1)
  with pytest.raises(TypeError, match="activation_noise must be a real number"):
    _create(activation_noise="0.1")
  with pytest.raises(TypeError, match="bayesian must be True or False"):
    _create(bayesian=1)
  with pytest.raises(ValueError, match="resize_pad must be an integer >= 0"):
    _create(resize_pad=-2)
  with pytest.raises(ValueError, match="prior_std must be finite and > 0"):
    _create(prior_std=0.0)
  with pytest.raises(ValueError, match="valid options.*input_noise"):
    _create(noise=0.1)
  model = _create(input_noise=0.1)
  variables = model.init(jax.random.key(0), _x())
  with pytest.raises(TypeError, match="floating point"):
    model.apply(variables, (_x() * 255).astype(jnp.uint8))
  with pytest.raises(ValueError, match=r"\[batch, height, width, 1\]"):
    model.apply(variables, _x()[0])
  logits_fn = models.as_randomized_logits_fn(model, variables)
  with pytest.raises(TypeError, match="needs a PRNG key"):
    logits_fn(_x(), None)
  with pytest.raises(TypeError, match="needs a PRNG key"):
    logits_fn(_x(), 3)
  with pytest.raises(ValueError, match="prior_std must be finite and > 0"):
    models.kl_divergence(variables["params"], -1.0)
