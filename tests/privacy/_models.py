"""Tiny models for the privacy tests (every layer kind the ghost mode handles)."""

import flax.linen as nn
import jax

from jaxrobust.losses import cross_entropy


class TinyCNN(nn.Module):
  """Conv SAME stride 2 -> Conv VALID -> Dense -> logits; inputs [b, 8, 8, 1]."""

  @nn.compact
  def __call__(self, x):
    x = nn.tanh(nn.Conv(4, (3, 3), strides=2, padding="SAME")(x))
    x = nn.tanh(nn.Conv(3, (2, 2), padding="VALID", use_bias=False)(x))
    x = nn.tanh(nn.Dense(8)(x.reshape(x.shape[0], -1)))
    return nn.Dense(3)(x)


class TinyMLP(nn.Module):
  """Flatten -> Dense tanh -> logits; the cheapest model to compile."""

  @nn.compact
  def __call__(self, x):
    return nn.Dense(3)(nn.tanh(nn.Dense(8)(x.reshape(x.shape[0], -1))))


class TinySeq(nn.Module):
  """Dense over positions [b, 4, 6] (Gram-identity path) -> mean -> logits."""

  @nn.compact
  def __call__(self, x):
    x = nn.tanh(nn.Dense(6)(x.reshape(x.shape[0], 4, -1)))
    return nn.Dense(3)(x.mean(1))


def loss_fn_for(model):
  def loss_fn(params, batch):
    x, y = batch
    return cross_entropy(model.apply({"params": params}, x), y)
  return loss_fn


def onehot_batch(key, b, shape=(8, 8, 1)):
  """Random inputs in [0, 1] and labels in {0, 1, 2}: (x [b, *shape], y [b])."""
  kx, ky = jax.random.split(key)
  return (jax.random.uniform(kx, (b,) + shape), jax.random.randint(ky, (b,), 0, 3))
