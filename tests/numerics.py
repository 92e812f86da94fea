"""Agreement of two computations of the same attack, asserted the same way on any CPU.

Two programs that compute the same function (a vmapped sweep and single calls,
jit and eager, ours and a peer's) sum in different orders, and the same program
rounds differently from one CPU to another (seen on an AVX-512 EPYC and on a
Zen 2 EPYC, with --xla_cpu_max_isa changing nothing), so float32 results differ
by ulps. Attacks amplify those ulps by discrete decisions: a sign
step on a rounding-level gradient coordinate, APGD's per-example step halving
and best-point updates (measured on APGD-DLR-L2 under vmap: 1-ulp differences
from the third iterate on, then one example's halving decision flips at the
checkpoint of iteration 7 and its iterate jumps by 0.12). A float32 tolerance
wide enough for that would pass real bugs.

So such comparisons run in float64 (`jax.enable_x64`; our models promote their
float32 weights), where the rounding band is 1e9 times narrower: only
quantities that are zero in exact arithmetic stay ambiguous. One such case
remains in the conformance suite: APGD-DLR once an example is fooled with its
true class third (DLR = 1 - 4e-13, its gradient all rounding), where the L2
step normalises rounding noise into a full step. That only happens to an
example the attack has already fooled, so `assert_agree` lets examples branch
only where both results are misclassified, and at most `max_branched` of them;
every other example must agree to `atol`. A wrong step, projection or radius
moves every example (the note of issue 12 shows such mutants failing).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

# float64 rounding (1.1e-16) amplified by continuous but ill-conditioned steps:
# measured <= 2e-15 over the conformance suite where no decision branches, and
# 1.6e-9 for CW after 30 Adam steps in its tanh change of variables, whose
# inverse (atanh) amplifies rounding by ~5e5 near the box's edges. A wrong step,
# radius or key moves an example by at least one step (>= 1e-2 here).
ATOL64 = 1e-6


def to64(x) -> jax.Array:
  """x as a float64 array (call inside `jax.enable_x64(True)`)."""
  return jnp.asarray(np.asarray(x), jnp.float64)


def assert_agree(a, b, logits_fn, y, *, atol: float = ATOL64, max_branched: float = 0.125):
  """a and b [batch, ...] agree to `atol` on every example, except examples
  misclassified by `logits_fn` at both (at most `max_branched` of the batch)."""
  a, b = np.asarray(a), np.asarray(b)
  assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
  assert a.dtype == np.float64, f"compare in float64 (tests/numerics.py), got {a.dtype}"
  diff = np.abs(a - b).reshape(len(a), -1).max(axis=1)
  branched = diff > atol
  fooled = lambda z: np.asarray(logits_fn(jnp.asarray(z)).argmax(-1)) != np.asarray(y)
  unexplained = branched & ~(fooled(a) & fooled(b))
  assert not unexplained.any(), (
      f"examples {np.nonzero(unexplained)[0]} differ by {diff[unexplained]} (> {atol}) "
      "and are not fooled in both results")
  assert branched.mean() <= max_branched, (
      f"{branched.sum()} of {len(a)} examples branched; differences {diff[branched]}")
