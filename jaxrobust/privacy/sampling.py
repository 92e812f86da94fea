"""Poisson subsampling under jit: a variable-size batch padded to a fixed size.

DP-SGD's privacy amplification assumes each example joins a step's batch
independently with probability q (Poisson sampling), so batch sizes vary.
Under jit shapes are static, so the sampled indices are padded to a fixed
`physical_batch_size` with a 0/1 mask; the padding size is chosen so that the
binomial count exceeds it with probability below `overflow_prob` (1e-12 by
default), and `poisson_batch` returns the true count so callers can check
(the experiment binary raises if it ever overflows). The noisy sum is
normalised by the EXPECTED batch size q * N, never by the realised count
(which would leak it).

Padding every step to that worst case wastes ~45% of a step's work at
q * N = 256 of N = 4,000 (the physical size is 373). `bucket_sizes` gives a few
padded sizes (binomial quantiles, the worst case last) and `bucket_index`
picks the smallest that holds a step's count, so a step can run on that size
(`lax.switch` over one compiled branch per size, jaxrobust.train.dp). The
sampled set, the clipping, the noise and the normalisation are those of the
single padded size, so the privacy guarantee is unchanged; what differs is the
float summation order and the step's run time, which depends on the count
(a timing side channel outside DP-SGD's threat model, as with Opacus'
variable-size Poisson batches).

References:
  Abadi et al., "Deep Learning with Differential Privacy", CCS 2016.
  Zhu & Wang, "Poisson Subsampled Renyi Differential Privacy", ICML 2019.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import scipy.stats

from jaxrobust import _checks
from jaxrobust.privacy.accounting import check_sampling_prob


def physical_batch_size(num_examples: int, sampling_prob: float,
                        overflow_prob: float = 1e-12) -> int:
  """Smallest size s with P[Binomial(num_examples, q) > s] <= overflow_prob."""
  check_sampling_prob(sampling_prob)
  _checks.check_int_at_least("num_examples", num_examples, 1)
  if not 0 < overflow_prob < 1:  # also rejects NaN
    raise ValueError(f"overflow_prob must be in (0, 1), got {overflow_prob}.")
  s = int(scipy.stats.binom.isf(overflow_prob, num_examples, sampling_prob))
  while scipy.stats.binom.sf(s, num_examples, sampling_prob) > overflow_prob:
    s += 1
  return min(max(s, 1), num_examples)


def bucket_sizes(num_examples: int, sampling_prob: float,
                 tail_probs: tuple[float, ...] = (0.3, 0.01), overflow_prob: float = 1e-12,
                 multiple: int = 1) -> tuple[int, ...]:
  """Ascending padded batch sizes: for each t in tail_probs the smallest s with
  P[Binomial(num_examples, q) > s] <= t, then `physical_batch_size`; each
  rounded up to a multiple of `multiple` (e.g. a micro-batch size), duplicates
  dropped. The default (0.3, 0.01) takes the expected padded size from 1.46x
  to 1.07x the expected count at q * N = 256 of N = 4,000, with 3 sizes.
  """
  _checks.check_int_at_least("multiple", multiple, 1)
  for t in tail_probs:
    if not overflow_prob <= t < 1:
      raise ValueError(f"tail_probs must lie in [overflow_prob={overflow_prob}, 1), got {t}.")
  sizes = [physical_batch_size(num_examples, sampling_prob, t)
           for t in (*tail_probs, overflow_prob)]
  return tuple(sorted({-(-s // multiple) * multiple for s in sizes}))


def bucket_index(count: jax.Array, sizes: tuple[int, ...]) -> jax.Array:
  """Index of the smallest size >= count (the last when count exceeds all). int32 scalar."""
  sizes = tuple(sizes)
  if not sizes or list(sizes) != sorted(sizes):
    raise ValueError(f"sizes must be a non-empty ascending tuple of batch sizes (from "
                     f"bucket_sizes), got {sizes}" + (" (empty)." if not sizes else "."))
  i = jnp.searchsorted(jnp.asarray(sizes, jnp.int32), count, side="left")
  return jnp.minimum(i, len(sizes) - 1).astype(jnp.int32)


def poisson_batch(key: jax.Array, num_examples: int, sampling_prob,
                  physical_size: int) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Samples each of num_examples indices with probability sampling_prob.

  Returns:
    indices: int32 [physical_size], the sampled indices first, then zeros.
    mask: float32 [physical_size], 1 for sampled slots, 0 for padding.
    count: int32 scalar, the number sampled (may exceed physical_size with
      probability <= the overflow_prob used to choose it; the excess is dropped).
  """
  _checks.check_int_at_least("num_examples", num_examples, 1)
  _checks.check_int_at_least("physical_size", physical_size, 1)
  _checks.check_number("sampling_prob", sampling_prob, low=0, low_open=True, high=1)
  chosen = jax.random.bernoulli(key, sampling_prob, (num_examples,))
  (indices,) = jnp.nonzero(chosen, size=physical_size, fill_value=0)
  count = chosen.sum(dtype=jnp.int32)
  mask = (jnp.arange(physical_size) < count).astype(jnp.float32)
  return indices.astype(jnp.int32), mask, count
