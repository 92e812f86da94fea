"""dp_sgd / dp_sat transforms: mean gradient without noise, noise std, rho = 0 parity."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrobust.optim.dp import dp_sat, dp_sgd
from jaxrobust.privacy.clipping import clipped_grad_sum
from tests.privacy._models import TinyMLP, loss_fn_for, onehot_batch

B = 6


def _setup():
  model = TinyMLP()
  batch = onehot_batch(jax.random.key(1), B)
  params = model.init(jax.random.key(0), batch[0][:1])["params"]
  loss_fn = loss_fn_for(model)
  grad_fn = lambda p, clip: clipped_grad_sum(loss_fn, p, batch, jnp.ones(B), l2_clip=clip)[0]
  return loss_fn, params, batch, grad_fn


def test_zero_noise_huge_clip_is_mean_gradient():
  loss_fn, params, batch, grad_fn = _setup()
  tx = dp_sgd(l2_clip=1e6, noise_multiplier=0.0, expected_batch_size=B,
              key=jax.random.key(0))
  out, _ = tx.update(None, tx.init(params), params, grad_fn=lambda p: grad_fn(p, 1e6))
  mean_grad = jax.grad(lambda p: loss_fn(p, batch).mean())(params)
  chex.assert_trees_all_close(out, mean_grad, atol=1e-6)
  # Passing the clipped sum as updates is the same thing.
  out2, _ = tx.update(grad_fn(params, 1e6), tx.init(params))
  chex.assert_trees_all_close(out2, out)


def test_noise_standard_deviation():
  sigma, clip, b = 1.7, 0.6, 8.0
  zeros = {"w": jnp.zeros((300, 100)), "b": jnp.zeros((50,))}
  tx = dp_sgd(l2_clip=clip, noise_multiplier=sigma, expected_batch_size=b,
              key=jax.random.key(7))
  state = tx.init(zeros)
  out1, state = tx.update(zeros, state)
  out2, _ = tx.update(zeros, state)
  noise = np.concatenate([np.ravel(x) for x in jax.tree.leaves((out1, out2))])
  n = noise.size  # 60,100 draws: the sample std is within 1% w.p. > 0.999
  expected = sigma * clip / b
  assert abs(noise.mean()) < 4 * expected / np.sqrt(n)
  assert noise.std() == pytest.approx(expected, rel=0.01)
  # Fresh noise each step (fold_in(key, count)), not a repeat.
  assert not np.allclose(out1["w"], out2["w"])


def test_dp_sat_rho_zero_equals_dp_sgd_exactly():
  _, params, _, grad_fn = _setup()
  key = jax.random.key(11)
  args = dict(l2_clip=0.1, noise_multiplier=1.3, expected_batch_size=B, key=key)
  runs = []
  for private in (dp_sgd(**args), dp_sat(rho=0.0, **args)):
    tx = optax.chain(private, optax.sgd(0.5, momentum=0.9))
    p, s = params, tx.init(params)
    step = jax.jit(lambda p, s: tx.update(None, s, p, grad_fn=lambda q: grad_fn(q, 0.1)))
    for _ in range(3):
      u, s = step(p, s)
      p = optax.apply_updates(p, u)
    runs.append(p)
  chex.assert_trees_all_equal(runs[0], runs[1])


def test_dp_sat_perturbs_along_previous_private_gradient():
  _, params, _, grad_fn = _setup()
  rho = 0.05
  seen = []

  def recording_grad_fn(p):
    seen.append(p)
    return grad_fn(p, 0.1)

  tx = dp_sat(rho, l2_clip=0.1, noise_multiplier=1.0, expected_batch_size=B,
              key=jax.random.key(2))
  s = tx.init(params)
  g1, s = tx.update(None, s, params, grad_fn=recording_grad_fn)
  g2, s = tx.update(None, s, params, grad_fn=recording_grad_fn)
  # First step: plain DP-SGD (same key, same noise).
  ref = dp_sgd(0.1, 1.0, B, jax.random.key(2))
  r1, _ = ref.update(None, ref.init(params), params, grad_fn=lambda p: grad_fn(p, 0.1))
  chex.assert_trees_all_equal(g1, r1)
  chex.assert_trees_all_equal(seen[0], params)
  # Second step: evaluated at w + rho * g1 / ||g1||.
  expected = jax.tree.map(lambda w, g: w + rho * g / optax.tree.norm(g1), params, g1)
  chex.assert_trees_all_close(seen[1], expected, atol=1e-6)
  chex.assert_trees_all_equal(s.prev_grad, g2)


@pytest.mark.parametrize("kwargs,match", [
    (dict(l2_clip=1.0, noise_multiplier=-0.5, expected_batch_size=8), "noise_multiplier"),
    (dict(l2_clip=0.0, noise_multiplier=1.0, expected_batch_size=8), "l2_clip"),
    (dict(l2_clip=-2.0, noise_multiplier=1.0, expected_batch_size=8), "l2_clip"),
    (dict(l2_clip=1.0, noise_multiplier=1.0, expected_batch_size=0), "expected_batch_size"),
])
def test_bad_input(kwargs, match):
  with pytest.raises(ValueError, match=match):
    dp_sgd(key=jax.random.key(0), **kwargs)
  with pytest.raises(ValueError, match=match):
    dp_sat(0.1, key=jax.random.key(0), **kwargs)
  with pytest.raises(ValueError, match="rho"):
    dp_sat(-0.1, 1.0, 1.0, 8, jax.random.key(0))
