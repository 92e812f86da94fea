"""Bucketed Poisson batches: sizes from binomial quantiles, the same step as one padded size."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.stats

from jaxrobust.optim.dp import dp_sgd
from jaxrobust.privacy import sampling
from jaxrobust.train.dp import make_dp_step
from jaxrobust.train.state import init_state
from tests.privacy._models import TinyCNN


class _Net(nn.Module):
  """TinyCNN with the `train` argument the train state passes."""

  @nn.compact
  def __call__(self, x, train: bool = False):
    return TinyCNN()(x)


def test_bucket_sizes_are_binomial_quantiles_up_to_the_physical_size():
  n, q = 4000, 256 / 4000
  sizes = sampling.bucket_sizes(n, q, (0.3, 0.01))
  assert sizes[-1] == sampling.physical_batch_size(n, q)
  assert list(sizes) == sorted(set(sizes)) and len(sizes) == 3
  for s, t in zip(sizes, (0.3, 0.01)):  # smallest size with tail <= t
    assert scipy.stats.binom.sf(s, n, q) <= t < scipy.stats.binom.sf(s - 1, n, q)
  # Expected padded size over the count's distribution: well below the one size.
  k = np.arange(n + 1)
  pmf = scipy.stats.binom.pmf(k, n, q)
  padded = np.asarray(sizes)[np.minimum(np.searchsorted(sizes, k), len(sizes) - 1)]
  assert (pmf * padded).sum() / (n * q) < 1.1 < sizes[-1] / (n * q)
  assert all(s % 32 == 0 for s in sampling.bucket_sizes(n, q, multiple=32))
  with pytest.raises(ValueError, match="tail_probs"):
    sampling.bucket_sizes(n, q, (1.5,))


def test_bucket_index_picks_the_smallest_size_that_holds_the_count():
  sizes = (10, 20, 30)
  got = [int(sampling.bucket_index(jnp.int32(c), sizes)) for c in (0, 10, 11, 20, 29, 30, 31)]
  assert got == [0, 0, 1, 1, 2, 2, 2]


def test_bucketed_step_equals_the_one_padded_size_step():
  """Same sampled set, clipping, noise and update: bucketing changes only the padding."""
  n = 120
  images = jax.random.randint(jax.random.key(0), (n, 8, 8, 1), 0, 256).astype(jnp.uint8)
  labels = jax.random.randint(jax.random.key(1), (n,), 0, 3)
  model = _Net()
  q = 16 / n
  physical = sampling.physical_batch_size(n, q)
  buckets = sampling.bucket_sizes(n, q, (0.5, 0.05))
  assert len(buckets) == 3
  tx = optax.chain(dp_sgd(1.0, 1.0, 16, jax.random.key(2)), optax.sgd(0.1))
  state = init_state(model, tx, (8, 8, 1), jax.random.key(3))

  def run(sizes):
    plan = {"sampling_prob": q, "physical_batch_size": physical, "bucket_sizes": sizes}
    step = make_dp_step(model, tx, images, labels, plan_=plan, l2_clip=1.0, mode="ghost",
                        microbatch_size=0)

    def body(s, i):
      s, m = step(s, jax.random.fold_in(jax.random.key(4), i))
      return s, (m["count"], m["loss"])

    return jax.jit(lambda s: jax.lax.scan(body, s, jnp.arange(12)))(state)

  one, (counts, losses) = run([physical])
  many, (counts_b, losses_b) = run(list(buckets))
  # The 12 steps' counts reach every bucket, so every branch is checked.
  assert set(np.asarray(sampling.bucket_index(counts, buckets)).tolist()) == {0, 1, 2}
  np.testing.assert_array_equal(counts, counts_b)
  np.testing.assert_allclose(losses, losses_b, rtol=1e-5)
  # Float sums over fewer padded rows differ in order only.
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
               one.params, many.params)
  with pytest.raises(ValueError, match="bucket_sizes"):
    make_dp_step(model, tx, images, labels, l2_clip=1.0, mode="ghost", microbatch_size=0,
                 plan_={"sampling_prob": q, "physical_batch_size": physical,
                        "bucket_sizes": [physical, 5]})
