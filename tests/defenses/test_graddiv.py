"""GradDiv: the concentration measures, the sampled gradients (one vmap), gradients to the
parameters, the train step with a randomized model, and config errors."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrobust import attacks, data, defenses, models, train
from jaxrobust.attacks import input_gradient
from jaxrobust.defenses import graddiv
from jaxrobust.losses import cross_entropy


def _unit(v):
  return v / jnp.linalg.norm(v, axis=-1, keepdims=True)


def test_identical_directions_have_concentration_one():
  u = jnp.broadcast_to(_unit(jax.random.normal(jax.random.key(0), (3, 50))), (6, 3, 50))
  np.testing.assert_allclose(graddiv.mean_resultant_length(u), 1.0, rtol=1e-6)
  np.testing.assert_allclose(graddiv.mean_cosine(u), 1.0, rtol=1e-6)
  assert np.all(graddiv.vmf_kappa(u) > 1e6)  # R capped below 1: large and finite
  assert np.all(np.isfinite(graddiv.vmf_kappa(u)))


def test_uniform_random_directions_have_concentration_near_zero():
  s, d = 4096, 16
  u = _unit(jax.random.normal(jax.random.key(1), (s, 2, d)))
  r = graddiv.mean_resultant_length(u)
  assert np.all(r < 0.05) and np.all(r > 0)  # E[R^2] = 1/S: R ~ 0.016
  assert np.all(np.abs(graddiv.mean_cosine(u)) < 0.01)
  # Banerjee et al.'s estimate R (d - R^2) / (1 - R^2) ~ R d: small next to d.
  assert np.all(graddiv.vmf_kappa(u) < 0.05 * d)
  # Two opposite directions cancel exactly.
  v = _unit(jax.random.normal(jax.random.key(2), (1, 5)))
  opposite = jnp.stack([v, -v])
  np.testing.assert_allclose(graddiv.mean_resultant_length(opposite), 0.0, atol=1e-6)
  np.testing.assert_allclose(graddiv.mean_cosine(opposite), -1.0, rtol=1e-6)


def test_measures_agree_with_their_definitions():
  s, d = 5, 7
  u = _unit(jax.random.normal(jax.random.key(3), (s, 4, d)) + 0.7)
  r = graddiv.mean_resultant_length(u)
  np.testing.assert_allclose(r, jnp.linalg.norm(u.mean(0), axis=-1), rtol=1e-5)
  np.testing.assert_allclose(graddiv.vmf_kappa(u), r * (d - r ** 2) / (1 - r ** 2), rtol=1e-5)
  pairs = [jnp.sum(u[i] * u[j], -1) for i in range(s) for j in range(s) if i != j]
  np.testing.assert_allclose(graddiv.mean_cosine(u), jnp.mean(jnp.stack(pairs), 0), rtol=1e-5)
  np.testing.assert_allclose(graddiv.mean_cosine(u), (s * r ** 2 - 1) / (s - 1), rtol=1e-4)
  # kappa grows with R.
  near = jnp.broadcast_to(u[:1], u.shape) * 0.9 + u * 0.1
  assert np.all(graddiv.vmf_kappa(_unit(near)) > graddiv.vmf_kappa(u))


def test_unit_directions_of_a_zero_gradient_are_zero_and_differentiable():
  g = jnp.zeros((3, 2, 4, 4, 1)).at[0, 0].set(1.0)
  u = graddiv.unit_directions(g)
  assert u.shape == (3, 2, 16)
  np.testing.assert_allclose(jnp.linalg.norm(u[0, 0]), 1.0, rtol=1e-6)
  np.testing.assert_array_equal(u[1], 0.0)
  for name, fn in graddiv.PENALTIES.items():
    grad = jax.grad(lambda g: jnp.sum(fn(graddiv.unit_directions(g))))(g)
    assert np.all(np.isfinite(grad)), name


def _noisy_linear(w, std=0.5):
  """A randomized model: logits of x + std * noise (one draw per key)."""
  def logits_fn(x, key=None):
    if key is not None:
      x = x + std * jax.random.normal(key, x.shape)
    return jnp.tanh(x.reshape(x.shape[0], -1) @ w) @ w.T[:, :4]
  return logits_fn


def _batch():
  return jax.random.uniform(jax.random.key(4), (6, 3, 3, 1)), jnp.arange(6) % 4


def test_sampled_gradients_are_one_vmap_equal_to_explicit_calls():
  w = jax.random.normal(jax.random.key(5), (9, 9))
  x, y = _batch()
  keys = jax.random.split(jax.random.key(6), 3)
  grads = graddiv.sampled_input_gradients(_noisy_linear(w), x, y, keys)
  assert grads.shape == (3,) + x.shape
  one = jax.jit(lambda k: input_gradient(lambda z: _noisy_linear(w)(z, k), cross_entropy, x, y))
  # Batched and single matmuls sum in different orders: float32 rounding only.
  for k, g in zip(keys, grads):
    np.testing.assert_allclose(g, one(k), rtol=1e-5, atol=1e-6)
  # One vmap over keys, not S passes: the program does not grow with S.
  def size(s):
    ks = jax.random.split(jax.random.key(6), s)
    return len(jax.make_jaxpr(lambda ks: graddiv.sampled_input_gradients(
        _noisy_linear(w), x, y, ks))(ks).eqns)
  assert size(2) == size(16)


# One penalty in the default tier (they share the gradient path); all in the slow one.
@pytest.mark.parametrize("penalty", [p if p == "mean_resultant_length" else
                                     pytest.param(p, marks=pytest.mark.slow)
                                     for p in sorted(graddiv.PENALTIES)])
def test_regularizer_gradient_flows_to_the_parameters(penalty):
  w = jax.random.normal(jax.random.key(7), (9, 9))
  x, y = _batch()
  defense = defenses.GradDiv(attack=None, weight=1.0, penalty=penalty, samples=4)

  def total(w, weight):
    loss, _ = defense.replace(weight=weight)(_noisy_linear(w), _noisy_linear(w), x, y,
                                             key=jax.random.key(8))
    return loss.mean()

  grad = jax.jit(jax.grad(total))  # weight is data: one program
  with_penalty, without = grad(w, 1.0), grad(w, 0.0)
  assert np.all(np.isfinite(with_penalty))
  assert float(jnp.abs(with_penalty - without).max()) > 1e-6  # the penalty's own gradient
  # And it lowers the penalty: one small step against it.
  @jax.jit
  def penalty_of(w):
    keys = jax.random.split(jax.random.key(9), 16)
    u = graddiv.unit_directions(graddiv.sampled_input_gradients(_noisy_linear(w), x, y, keys))
    return graddiv.PENALTIES[penalty](u).mean()
  step = with_penalty - without
  assert float(penalty_of(w - 1e-2 * step / jnp.linalg.norm(step))) < float(penalty_of(w))


def test_deterministic_model_has_concentration_one_and_no_penalty_gradient():
  w = jax.random.normal(jax.random.key(10), (9, 9))
  x, y = _batch()
  deterministic = lambda z, key=None: _noisy_linear(w)(z)
  stats = graddiv.gradient_concentration(deterministic, x, y, key=jax.random.key(0), samples=3)
  np.testing.assert_allclose(stats["mean_resultant_length"], 1.0, rtol=1e-5)
  np.testing.assert_allclose(stats["mean_cosine"], 1.0, rtol=1e-5)


@pytest.mark.slow
def test_graddiv_trains_a_randomized_model_in_the_train_step():
  ds = data.load("digits", "train")
  model = models.make("randomized_cnn", num_classes=10, mean=ds.info.mean, std=ds.info.std,
                        features=(4,), hidden=8, input_noise=0.2, activation_noise=0.1)
  tx = optax.sgd(0.1)
  state = train.init_state(model, tx, ds.info.input_shape, jax.random.key(0))
  defense = defenses.GradDiv(attack=attacks.PGD(eps=0.1, step_size=0.05, steps=1),
                             weight=1.0, samples=3)
  step = jax.jit(train.make_train_step(model, defense, tx))
  after, metrics = step(state, (ds.images[:16], ds.labels[:16]), jax.random.key(1))
  assert np.isfinite(float(metrics["loss"]))
  # A randomized model's sampled gradients differ: R below 1.
  assert 0.0 < float(metrics["resultant_length"]) < 0.999
  assert float(metrics["graddiv_penalty"]) == pytest.approx(float(metrics["resultant_length"]))
  moved = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), state.params, after.params)
  assert max(jax.tree.leaves(moved)) > 0


def test_train_step_feeds_the_noise_stream_and_keys_given_by_the_defense():
  ds = data.load("digits", "train")
  model = models.make("randomized_cnn", num_classes=10, mean=ds.info.mean, std=ds.info.std,
                        features=(4,), hidden=8, input_noise=0.3)
  tx = optax.sgd(0.0)
  state = train.init_state(model, tx, ds.info.input_shape, jax.random.key(0))

  def probe(train_logits_fn, eval_logits_fn, x, y, *, key):
    twin = model.apply({"params": state.params}, x)
    seen = {"train": train_logits_fn(x), "train_k1": train_logits_fn(x, jax.random.key(1)),
            "eval": eval_logits_fn(x), "eval_k1": eval_logits_fn(x, jax.random.key(1))}
    gaps = {name: jnp.abs(v - twin).max() for name, v in seen.items()}
    gaps["k1_vs_k2"] = jnp.abs(seen["train_k1"] - train_logits_fn(x, jax.random.key(2))).max()
    gaps["train_k1_vs_eval_k1"] = jnp.abs(seen["train_k1"] - seen["eval_k1"]).max()
    return cross_entropy(seen["train"], y), gaps

  _, gaps = jax.jit(train.make_train_step(model, probe, tx))(
      state, (ds.images[:4], ds.labels[:4]), jax.random.key(3))
  for name in ("train", "train_k1", "eval", "eval_k1", "k1_vs_k2"):
    assert float(gaps[name]) > 1e-4, name  # noise is on everywhere, new keys new draws
  assert float(gaps["train_k1_vs_eval_k1"]) < 1e-5  # the same key draws the same network


def test_config_builds_graddiv_and_rejects_bad_options():
  built = defenses.DEFENSES.from_config({"name": "graddiv", "penalty": "vmf_kappa", "samples": 3,
                                "weight": 0.5, "attack": None})
  assert built == defenses.GradDiv(attack=None, weight=0.5, penalty="vmf_kappa", samples=3)
  with_attack = defenses.DEFENSES.from_config({"name": "graddiv", "attack": {
      "name": "pgd", "eps": 0.1, "step_size": 0.025, "steps": 2}})
  assert with_attack.attack.eps == 0.1
  with pytest.raises(ValueError, match="Unknown GradDiv.penalty 'cosine'.*mean_cosine"):
    defenses.GradDiv(penalty="cosine")
  with pytest.raises(ValueError, match="GradDiv.samples must be an integer >= 2"):
    defenses.GradDiv(samples=1)
  with pytest.raises(ValueError, match="GradDiv.weight must be finite and >= 0"):
    defenses.GradDiv(weight=-1.0)
  with pytest.raises(ValueError, match="valid options.*penalty"):
    defenses.DEFENSES.from_config({"name": "graddiv", "lam": 1.0})
  with pytest.raises(ValueError, match="GradDiv.attack: eps must be"):
    defenses.GradDiv(attack=attacks.PGD(eps=-0.1))
  with pytest.raises(TypeError, match="cannot be AWP's base"):
    defenses.GradDiv().loss_at(None, None, None, None)
  with pytest.raises(ValueError, match="at least 2 sampled directions"):
    graddiv.mean_resultant_length(jnp.ones((1, 2, 3)))
  with pytest.raises(ValueError, match=r"\[samples, batch, d\]"):
    graddiv.mean_cosine(jnp.ones((2, 3)))
