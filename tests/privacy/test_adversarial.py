"""DP adversarial training: each example's clipped gradient at its own adversarial point."""

import chex
import jax
import jax.numpy as jnp
import optax

from jaxrobust.attacks.pgd import PGD
from jaxrobust.privacy.adversarial import attack_preprocess
from jaxrobust.privacy.clipping import clip_factors, clipped_grad_sum
from tests.privacy._models import TinyCNN, loss_fn_for, onehot_batch

B = 4


def test_per_example_adversarial_gradients_match_a_loop():
  model = TinyCNN()
  x, y = onehot_batch(jax.random.key(1), B)
  params = model.init(jax.random.key(0), x[:1])["params"]
  loss_fn = loss_fn_for(model)
  apply_fn = lambda p, z: model.apply({"params": p}, z)
  attack = PGD(eps=0.2, step_size=0.08, steps=3)
  key, clip = jax.random.key(5), 0.05
  preprocess = attack_preprocess(attack, apply_fn)

  # Reference: a Python loop, attack then gradient, one example at a time.
  keys = jax.random.split(key, B)

  @jax.jit
  def one(xi, yi, k):
    x_adv = attack(lambda z: apply_fn(params, z), xi, yi, key=k)
    g = jax.grad(lambda p: loss_fn(p, (x_adv, yi))[0])(params)
    return x_adv, jax.tree.map(lambda a: a * clip_factors(optax.tree.norm(g), clip), g)

  expected = None
  for i in range(B):
    x_adv, g = one(x[i:i + 1], y[i:i + 1], keys[i])
    assert float(jnp.abs(x_adv - x[i:i + 1]).max()) > 0.1  # the attack moved it
    expected = g if expected is None else jax.tree.map(jnp.add, expected, g)

  mask = jnp.ones(B)
  for mode in ("vmap", "ghost"):
    total, _ = jax.jit(lambda p: clipped_grad_sum(
        loss_fn, p, (x, y), mask, l2_clip=clip, mode=mode, preprocess=preprocess,
        key=key))(params)
    chex.assert_trees_all_close(total, expected, atol=1e-6, rtol=1e-4)

  # Not the clean gradient: the adversarial points matter.
  clean, _ = clipped_grad_sum(loss_fn, params, (x, y), mask, l2_clip=clip)
  assert optax.tree.norm(jax.tree.map(jnp.subtract, clean, expected)) > 1e-3
