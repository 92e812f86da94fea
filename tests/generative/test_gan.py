"""The GAN core: losses against closed forms, updates lower their losses, a conditional
toy GAN learns its target, spectral-norm state travels, the trainer resumes."""

from __future__ import annotations

import functools

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrobust import generative as gen
from jaxrobust import train


class _Generator(nn.Module):
  """z [B, 2], label [B] -> x [B, 1]: an affine map plus a per-label offset."""

  @nn.compact
  def __call__(self, z, label, train):
    return nn.Dense(1)(z) + nn.Embed(2, 1)(label)


class _Discriminator(nn.Module):
  """x [B, 1], label [B] -> logits [B], spectrally normalised hidden layer."""

  @nn.compact
  def __call__(self, x, label, train):
    h = jnp.concatenate([x, nn.Embed(2, 4)(label)], axis=-1)
    h = nn.leaky_relu(nn.SpectralNorm(nn.Dense(32))(h, update_stats=train), 0.2)
    return nn.Dense(1)(h)[:, 0]


def _state(key=0):
  g, d = _Generator(), _Discriminator()
  k1, k2 = jax.random.split(jax.random.key(key))
  label = jnp.zeros((1,), jnp.int32)
  g_vars = g.init(k1, jnp.zeros((1, 2)), label, train=False)
  d_vars = d.init(k2, jnp.zeros((1, 1)), label, train=False)
  g_tx, d_tx = optax.adam(1e-2, b1=0.5), optax.adam(1e-2, b1=0.5)
  state = gen.GANState.create(g_vars, d_vars, g_tx, d_tx)
  step = functools.partial(gen.gan_step, generator_apply=gen.linen_apply(g),
                           discriminator_apply=gen.linen_apply(d), g_tx=g_tx, d_tx=d_tx,
                           latent_dim=2)
  return state, step, gen.linen_apply(g)


def _toy_data(n=512):
  # Label 0 -> N(-2, 0.5^2), label 1 -> N(+2, 0.5^2).
  rng = np.random.default_rng(0)
  label = rng.integers(0, 2, n).astype(np.int32)
  x = (np.where(label == 1, 2.0, -2.0) + 0.5 * rng.standard_normal(n))[:, None]
  return {"x": x.astype(np.float32), "cond": label}


@pytest.mark.parametrize("kind", gen.GAN_LOSSES)
def test_losses_match_closed_forms(kind):
  r, f = jnp.array([0.3, -1.2, 2.0]), jnp.array([-0.5, 0.7])
  sig = jax.nn.sigmoid
  want_d = {"non_saturating": -jnp.mean(jnp.log(sig(r))) - jnp.mean(jnp.log(1 - sig(f))),
            "hinge": jnp.mean(jnp.maximum(0, 1 - r)) + jnp.mean(jnp.maximum(0, 1 + f)),
            "least_squares": jnp.mean((r - 1) ** 2) / 2 + jnp.mean(f ** 2) / 2}[kind]
  want_g = {"non_saturating": -jnp.mean(jnp.log(sig(f))), "hinge": -jnp.mean(f),
            "least_squares": jnp.mean((f - 1) ** 2) / 2}[kind]
  np.testing.assert_allclose(gen.discriminator_loss(r, f, kind), want_d, rtol=1e-6)
  np.testing.assert_allclose(gen.generator_loss(f, kind), want_g, rtol=1e-6)


def test_unknown_loss_kind_is_an_error():
  with pytest.raises(ValueError, match="valid choices"):
    gen.discriminator_loss(jnp.zeros(2), jnp.zeros(2), "wasserstein")
  with pytest.raises(ValueError, match="valid choices"):
    gen.generator_loss(jnp.zeros(2), "minimax")


def test_create_rejects_variables_without_params():
  with pytest.raises(ValueError, match="'params'"):
    gen.GANState.create({"w": 1.0}, {"params": {}}, optax.sgd(1.0), optax.sgd(1.0))


def test_player_updates_lower_their_losses():
  """With the other player frozen, each player's updates decrease its own loss."""
  state, _, g_apply = _state()
  d_apply = gen.linen_apply(_Discriminator())
  data = jax.tree.map(jnp.asarray, _toy_data(64))
  z = jax.random.normal(jax.random.key(1), (64, 2))
  d_tx, g_tx = optax.adam(1e-2), optax.adam(5e-2)

  def d_loss(state):
    def fn(d_params):
      fake = g_apply(state.g_variables, z, data["cond"], False)[0]
      logits, updates = d_apply({"params": d_params, **state.d_state},
                                jnp.concatenate([data["x"], fake]),
                                jnp.concatenate([data["cond"]] * 2), True)
      return gen.discriminator_loss(logits[:64], logits[64:]), (updates, {})
    return fn

  def g_loss(state):
    def fn(g_params):
      fake = g_apply({"params": g_params}, z, data["cond"], True)[0]
      logits = d_apply(state.d_variables, fake, data["cond"], False)[0]
      return gen.generator_loss(logits), ({}, {})
    return fn

  d_step = jax.jit(lambda s: gen.discriminator_update(s, d_loss(s), d_tx))
  s, first = d_step(state)
  for _ in range(30):
    s, last = d_step(s)
  assert float(last["d_loss"]) < 0.7 * float(first["d_loss"])
  # The spectral-norm power iteration state moved with the discriminator updates.
  assert not np.allclose(jax.tree.leaves(s.d_state)[0], jax.tree.leaves(state.d_state)[0])

  g_step = jax.jit(lambda s: gen.generator_update(s, g_loss(s), g_tx))
  s, first = g_step(s)
  for _ in range(30):
    s, last = g_step(s)
  assert float(last["g_loss"]) < 0.7 * float(first["g_loss"])


@pytest.mark.parametrize("loss", ["non_saturating", "hinge"])
def test_conditional_gan_learns_class_means(loss):
  state, step, g_apply = _state()
  step = functools.partial(step, loss=loss)
  data = jax.tree.map(jnp.asarray, _toy_data())
  state, metrics = gen.run_steps(state, data, jax.random.key(2), step_fn=step,
                                 num_steps=600, batch_size=64)
  assert metrics["loss"].shape == (600,)
  chex.assert_tree_all_finite(metrics)
  for label, mean in ((0, -2.0), (1, 2.0)):
    x = gen.sample(state, g_apply, jax.random.key(3), 512, 2,
                   jnp.full((512,), label, jnp.int32))
    assert abs(float(x.mean()) - mean) < 0.4, (label, float(x.mean()))


def test_run_steps_continues_exactly():
  """k steps then k steps equal 2k steps (keys come from the state's own step)."""
  state, step, _ = _state()
  data = jax.tree.map(jnp.asarray, _toy_data(128))
  key = jax.random.key(5)
  whole, _ = gen.run_steps(state, data, key, step_fn=step, num_steps=10, batch_size=32)
  half, _ = gen.run_steps(state, data, key, step_fn=step, num_steps=5, batch_size=32)
  half, _ = gen.run_steps(half, data, key, step_fn=step, num_steps=5, batch_size=32)
  chex.assert_trees_all_close(whole, half, rtol=1e-5, atol=1e-6)


def test_fit_arrays_trains_a_gan_state_and_resumes(tmp_path):
  """The in-memory trainer takes a GAN step as it is: 3 epochs straight equal 1 epoch
  then a restart to 3 in the same workdir."""
  state, step, _ = _state()
  data = _toy_data(128)
  kwargs = dict(key=jax.random.key(7), batch_size=32, fingerprint={"toy": 1})
  whole, log = train.fit_arrays(step, state, data, workdir=str(tmp_path / "a"), epochs=3,
                                **kwargs)
  assert [r["epoch"] for r in log] == [1, 2, 3] and int(whole.step) == 12
  assert {"train_d_loss", "train_g_loss", "train_d_real"} <= set(log[-1])
  train.fit_arrays(step, state, data, workdir=str(tmp_path / "b"), epochs=1, **kwargs)
  resumed, log_b = train.fit_arrays(step, state, data, workdir=str(tmp_path / "b"), epochs=3,
                                    **kwargs)
  jax.tree.map(np.testing.assert_array_equal, resumed, whole)
  assert [r["train_loss"] for r in log_b] == [r["train_loss"] for r in log]
