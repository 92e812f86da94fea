"""Evaluation of randomized models: EOT as a mean of explicit gradients, repeated predictions,
transferability among sample networks, gradient concentration, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import attacks, data, models
from jaxrobust.eval import randomized as rand_eval
from jaxrobust.losses import cross_entropy


@pytest.fixture(scope="module")
def digits():
  ds = data.load("digits", "test")
  return ds.images[:40], ds.labels[:40], ds.info


def _model(info, **noise):
  model = models.make("randomized_cnn", num_classes=10, mean=info.mean, std=info.std,
                        features=(4,), hidden=8, **noise)
  return model, model.init(jax.random.key(0), jnp.zeros((1,) + info.input_shape))


def test_eot_gradient_is_the_mean_of_explicit_gradient_calls(digits):
  images, labels, info = digits
  model, variables = _model(info, input_noise=0.2, activation_noise=0.2)
  logits_fn = models.as_randomized_logits_fn(model, variables)
  x, y, key = data.to_float(images[:8]), jnp.asarray(labels[:8]), jax.random.key(1)
  eot = jax.jit(lambda k: attacks.eot_gradient(logits_fn, cross_entropy, x, y, k, 5))(key)
  one = jax.jit(lambda k: attacks.input_gradient(lambda z: logits_fn(z, k), cross_entropy, x, y))
  explicit = [one(k) for k in jax.random.split(key, 5)]
  np.testing.assert_allclose(eot, np.mean(explicit, axis=0), rtol=1e-5, atol=1e-7)
  assert float(jnp.abs(explicit[0] - explicit[1]).max()) > 0  # the draws do differ


def test_accuracy_spread_summarises_repeated_draws():
  correct = np.array([[1, 1, 0, 1], [1, 0, 0, 1], [1, 1, 0, 0]], bool)
  s = rand_eval.accuracy_spread(correct)
  assert s["per_draw"] == [0.75, 0.5, 0.5] and s["repeats"] == 3
  assert s["mean"] == pytest.approx(7 / 12) and s["std"] == pytest.approx(np.std([0.75, 0.5, 0.5]))
  assert (s["min"], s["max"]) == (0.5, 0.75)
  assert s["always"] == 0.25 and s["majority"] == 0.75
  with pytest.raises(ValueError, match=r"\[repeats, n\]"):
    rand_eval.accuracy_spread(np.ones(4, bool))


@pytest.mark.slow
def test_repeated_correct_draws_new_networks_and_is_constant_without_noise(digits):
  images, labels, info = digits
  x, y = data.to_float(images), jnp.asarray(labels)
  for noise, constant in (({}, True), ({"input_noise": 0.5, "activation_noise": 0.5}, False)):
    model, variables = _model(info, **noise)
    logits_fn = models.as_randomized_logits_fn(model, variables)
    correct = rand_eval.repeated_correct(logits_fn, x, y, key=jax.random.key(2), repeats=6)
    assert correct.shape == (6, 40)
    assert bool(jnp.all(correct == correct[:1])) == constant


@pytest.mark.slow
def test_randomized_report_repeats_predictions_over_the_split(digits):
  images, labels, info = digits
  model, variables = _model(info, input_noise=0.3, activation_noise=0.3)
  eot = attacks.EOTPGD(eps=0.2, step_size=0.05, steps=2, eot_iter=2)
  report = rand_eval.randomized_report(model, variables, images, labels, {"eot": eot},
                                       key=jax.random.key(3), repeats=4,
                                       batch_size=16)   # 40 = 16 + 16 + 8 (padded)
  assert list(report)[:2] == ["clean", "eot"] and report["num_examples"] == 40
  for name in ("clean", "eot"):
    r = report[name]
    assert len(r["per_draw"]) == 4 and r["min"] <= r["mean"] <= r["max"]
  assert report["eot"]["mean"] <= report["clean"]["mean"]
  # The clean row is the repeated prediction, batch by batch with keys fold_in(key, i).
  logits_fn = models.as_randomized_logits_fn(model, variables)
  predict = jax.jit(lambda x, y, k: rand_eval.repeated_correct(logits_fn, data.to_float(x), y,
                                                               key=k, repeats=4))
  key = jax.random.key(3)
  parts = []
  for i, start in enumerate(range(0, 40, 16)):
    x = np.zeros((16, 8, 8, 1), np.uint8)
    y = np.zeros((16,), labels.dtype)
    n = min(16, 40 - start)
    x[:n], y[:n] = images[start:start + n], labels[start:start + n]
    k = jax.random.fold_in(jax.random.fold_in(key, i), 2)   # the prediction stream
    parts.append(np.asarray(predict(x, y, k))[:, :n])
  assert report["clean"]["mean"] == pytest.approx(np.concatenate(parts, 1).mean())


@pytest.mark.slow
def test_autoattack_rand_attacks_the_randomized_model(digits):
  images, labels, info = digits
  model, variables = _model(info, input_noise=0.3)
  aa = attacks.AutoAttack(eps=0.3, version="rand", steps=3, eot_iter=2)
  report = rand_eval.randomized_report(model, variables, images[:16], labels[:16],
                                       {"autoattack-rand": aa}, key=jax.random.key(1),
                                       repeats=3, batch_size=16)
  assert report["autoattack-rand"]["mean"] <= report["clean"]["mean"]


def test_takes_key_and_attack_points():
  assert rand_eval.takes_key(attacks.EOTPGD())
  assert rand_eval.takes_key(attacks.AutoAttack(version="rand"))
  assert rand_eval.takes_key(attacks.APGD(eot_iter=3))
  assert not rand_eval.takes_key(attacks.APGD())
  assert not rand_eval.takes_key(attacks.PGD())
  assert not rand_eval.takes_key(attacks.AutoAttack())
  x, y = jnp.full((2, 2, 2, 1), 0.5), jnp.array([0, 1])
  seen = []

  def logits_fn(z, key):
    seen.append(key)
    return z.reshape(2, -1)[:, :2]

  np.testing.assert_array_equal(rand_eval.attack_points(None, logits_fn, x, y,
                                                        key=jax.random.key(0)), x)
  rand_eval.attack_points(attacks.PGD(eps=0.1, step_size=0.1, steps=1), logits_fn, x, y,
                          key=jax.random.key(0))
  assert seen and all(k is not None for k in seen)  # a deterministic attack sees one network


def test_transfer_matrix_among_identical_networks_is_constant(digits):
  images, labels, info = digits
  model, variables = _model(info)  # zero noise: every sample network is the same
  pgd = attacks.PGD(eps=0.3, step_size=0.1, steps=5, random_start=False)
  out = rand_eval.transfer_matrix(model, variables, images, labels, pgd,
                                  key=jax.random.key(4), networks=3, batch_size=16)
  rate = np.asarray(out["rate"])
  assert rate.shape == (3, 3) and out["num_examples"] == 40
  np.testing.assert_allclose(rate, rate[0, 0], atol=1e-6)
  assert 0 < rate[0, 0] <= 1
  assert out["diagonal"] == pytest.approx(out["off_diagonal"])


def test_transfer_outcomes_count_by_hand():
  # Network k: logits (0, z + k) with z the single input: class 1 iff z + k > 0.
  logits_fn = lambda x, k: jnp.stack([jnp.zeros(x.shape[0]),
                                      x.reshape(-1) + k.astype(jnp.float32)], -1)
  keys = jnp.array([-0.5, 0.5])  # network 0 needs z > 0.5, network 1 z > -0.5
  x, y = jnp.array([0.6, 0.9]).reshape(2, 1, 1, 1), jnp.array([1, 1])
  # The "attack" moves every input down to z - 0.4: z = 0.2 and 0.5.
  attack = lambda f, x, y, key: x - 0.4
  fooled, clean = rand_eval.transfer_outcomes(logits_fn, x, y, attack, network_keys=keys,
                                              key=jax.random.key(0))
  np.testing.assert_array_equal(clean, [[True, True], [True, True]])
  np.testing.assert_array_equal(fooled[0, 0], [True, True])    # 0.2, 0.5 <= 0.5 on network 0
  np.testing.assert_array_equal(fooled[0, 1], [False, False])  # both > -0.5 on network 1


@pytest.mark.slow
def test_gradient_concentration_report(digits):
  images, labels, info = digits
  model, variables = _model(info)
  out = rand_eval.gradient_concentration_report(model, variables, images, labels,
                                                key=jax.random.key(5), samples=3, batch_size=32)
  # Identical draws: R = 1 (an example whose gradient vanishes has R = 0: no direction).
  assert out["mean_resultant_length"]["median"] == pytest.approx(1.0, abs=1e-4)
  model, variables = _model(info, input_noise=0.5, activation_noise=0.5)
  noisy = rand_eval.gradient_concentration_report(model, variables, images, labels,
                                                  key=jax.random.key(5), samples=3,
                                                  batch_size=32)
  assert noisy["mean_resultant_length"]["mean"] < 0.99
  assert noisy["samples"] == 3 and set(noisy) >= {"vmf_kappa", "mean_cosine"}


def test_bad_input_gives_clear_errors(digits):
  images, labels, info = digits
  model, variables = _model(info, input_noise=0.1)
  eot = attacks.EOTPGD(eps=0.1, step_size=0.05, steps=1)
  with pytest.raises(ValueError, match="one network at a time.*EOTPGD"):
    rand_eval.transfer_matrix(model, variables, images, labels, eot, key=jax.random.key(0))
  with pytest.raises(TypeError, match="needs an attack object"):
    rand_eval.transfer_matrix(model, variables, images, labels, None, key=jax.random.key(0))
  with pytest.raises(ValueError, match="networks must be an integer >= 2"):
    rand_eval.transfer_matrix(model, variables, images, labels, attacks.PGD(),
                              key=jax.random.key(0), networks=1)
  with pytest.raises(ValueError, match="repeats must be an integer >= 1"):
    rand_eval.randomized_report(model, variables, images, labels, {}, key=jax.random.key(0),
                                repeats=0)
  with pytest.raises(ValueError, match="same number of examples"):
    rand_eval.randomized_report(model, variables, images, labels[:5], {},
                                key=jax.random.key(0))
  with pytest.raises(ValueError, match="no examples"):
    rand_eval.gradient_concentration_report(model, variables, images[:0], labels[:0],
                                            key=jax.random.key(0))
  with pytest.raises(ValueError, match="samples must be an integer >= 2"):
    rand_eval.gradient_concentration_report(model, variables, images, labels,
                                            key=jax.random.key(0), samples=1)
