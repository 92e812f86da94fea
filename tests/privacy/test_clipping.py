"""Per-example clipping: bounds, sums, vmap == micro-batched == ghost, Poisson batches."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrobust.privacy.clipping import clipped_grad_sum, per_example_grads
from jaxrobust.privacy.sampling import poisson_batch
from tests.privacy._models import TinyCNN, TinyMLP, TinySeq, loss_fn_for, onehot_batch

B = 6


def _setup(model, shape=(8, 8, 1)):
  batch = onehot_batch(jax.random.key(1), B, shape)
  params = model.init(jax.random.key(0), batch[0][:1])["params"]
  return loss_fn_for(model), params, batch


def test_clipping_bounds_every_per_example_norm():
  loss_fn, params, batch = _setup(TinyCNN())
  _, grads = per_example_grads(loss_fn, params, batch)
  norms = jax.vmap(optax.tree.norm)(grads)
  clip = float(jnp.median(norms))  # half the examples get clipped
  single = jax.jit(lambda m: clipped_grad_sum(loss_fn, params, batch, m, l2_clip=clip))
  for i in range(B):
    total, aux = single(jnp.zeros(B).at[i].set(1.0))
    n = float(optax.tree.norm(total))
    assert n <= clip * (1 + 1e-5)
    assert aux["norms"][i] == pytest.approx(float(norms[i]), rel=1e-5)
    if norms[i] <= clip:  # unclipped examples pass unchanged
      chex.assert_trees_all_close(total, jax.tree.map(lambda g: g[i], grads), atol=1e-6)
    else:
      assert n == pytest.approx(clip, rel=1e-5)


def test_huge_clip_gives_masked_sum_of_gradients():
  loss_fn, params, batch = _setup(TinyCNN())
  mask = jnp.array([1, 0, 1, 1, 0, 1.0])
  total, _ = clipped_grad_sum(loss_fn, params, batch, mask, l2_clip=1e6)
  keep = np.flatnonzero(mask)
  sub = jax.tree.map(lambda a: a[keep], batch)
  expected = jax.grad(lambda p: loss_fn(p, sub).sum())(params)
  chex.assert_trees_all_close(total, expected, atol=1e-5)


@pytest.mark.parametrize("model,shape", [(TinyCNN(), (8, 8, 1)), (TinySeq(), (24,))])
@pytest.mark.parametrize("clip", [0.05, 1e6])
def test_ghost_equals_vmap(model, shape, clip):
  loss_fn, params, batch = _setup(model, shape)
  mask = jnp.array([1, 1, 0, 1, 1, 1.0])
  v, va = clipped_grad_sum(loss_fn, params, batch, mask, l2_clip=clip)
  g, ga = clipped_grad_sum(loss_fn, params, batch, mask, l2_clip=clip, mode="ghost")
  np.testing.assert_allclose(ga["norms"], va["norms"], rtol=1e-4)
  np.testing.assert_allclose(ga["loss"], va["loss"], rtol=1e-6)
  chex.assert_trees_all_close(g, v, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("mode", ["vmap", "ghost"])
def test_a_non_finite_example_is_left_out_and_counted(mode):
  model = TinyMLP()
  loss_fn, params, (x, y) = _setup(model)
  # Example 2 has a NaN input (NaN loss and gradient), example 4 an inf one but is
  # padding (mask 0): neither may reach the sum, only the real one is counted.
  bad_x = x.at[2, 0, 0, 0].set(jnp.nan).at[4, 1, 1, 0].set(jnp.inf)
  mask = jnp.array([1, 1, 1, 1, 0, 1.0])
  total, aux = jax.jit(lambda b: clipped_grad_sum(loss_fn, params, b, mask, l2_clip=0.05,
                                                  mode=mode))((bad_x, y))
  keep = np.array([0, 1, 3, 5])
  expected, expected_aux = clipped_grad_sum(loss_fn, params, (x[keep], y[keep]), jnp.ones(4),
                                            l2_clip=0.05, mode=mode)
  chex.assert_tree_all_finite(total)
  chex.assert_trees_all_close(total, expected, atol=1e-6)
  assert int(aux["nonfinite"]) == 1 and int(expected_aux["nonfinite"]) == 0
  assert not np.isfinite(aux["norms"][2]) and np.all(np.isfinite(aux["norms"][keep]))
  assert float(optax.tree.norm(total)) <= 4 * 0.05 * (1 + 1e-5)  # the sensitivity bound


def test_microbatches_equal_one_batch():
  loss_fn, params, batch = _setup(TinyCNN())
  mask = jnp.ones(B)
  whole, wa = clipped_grad_sum(loss_fn, params, batch, mask, l2_clip=0.1)
  micro, ma = clipped_grad_sum(loss_fn, params, batch, mask, l2_clip=0.1, microbatch_size=2)
  chex.assert_trees_all_close(micro, whole, atol=1e-6)
  np.testing.assert_allclose(ma["norms"], wa["norms"], rtol=1e-6)


def test_bad_input():
  loss_fn, params, batch = _setup(TinyCNN())
  mask = jnp.ones(B)
  for clip in (0.0, -1.0):
    with pytest.raises(ValueError, match="l2_clip"):
      clipped_grad_sum(loss_fn, params, batch, mask, l2_clip=clip)
  with pytest.raises(ValueError, match="valid choices"):
    clipped_grad_sum(loss_fn, params, batch, mask, l2_clip=1.0, mode="opacus")
  with pytest.raises(ValueError, match="divide"):
    clipped_grad_sum(loss_fn, params, batch, mask, l2_clip=1.0, microbatch_size=4)

  class WithLayerNorm(nn.Module):
    @nn.compact
    def __call__(self, x):
      return nn.Dense(3)(nn.LayerNorm()(x.reshape(x.shape[0], -1)))

  loss_fn, params, batch = _setup(WithLayerNorm())
  with pytest.raises(ValueError, match="Dense and Conv"):
    clipped_grad_sum(loss_fn, params, batch, mask, l2_clip=1.0, mode="ghost")


def test_poisson_batch_is_padded_and_masked():
  n, q, size = 200, 0.1, 40
  idx, mask, count = jax.jit(poisson_batch, static_argnums=(1, 3))(
      jax.random.key(3), n, q, size)
  c = int(count)
  assert 0 < c <= size and float(mask.sum()) == c
  chosen = np.asarray(idx[:c])
  assert len(set(chosen.tolist())) == c and chosen.min() >= 0 and chosen.max() < n
  assert np.all(np.diff(chosen) > 0)
  # Inclusion frequency over many draws is q (each example independently).
  draws = jax.vmap(lambda k: poisson_batch(k, n, q, size)[2])(
      jax.random.split(jax.random.key(4), 400))
  assert float(draws.mean()) == pytest.approx(n * q, rel=0.05)
