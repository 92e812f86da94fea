"""Per-example selection over runs: keep the first success, else the best score.

Every ensemble and restart loop (APGD's restarts and targets, `Restarts`,
`AutoAttack`, Square's and FAB's restarts) folds its runs through
`keep_first_success`: once an example has a successful point it keeps it (the
AutoAttack protocol: a point broken by one run is never attacked again);
until then a run's point replaces the kept one when it succeeds or when its
score is strictly better (ties keep the earlier run).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class Kept(NamedTuple):
  """Per example: the point kept [batch, ...] (or a pytree of such), whether it
  succeeded [batch] bool (then it is final), and its score [batch] (None: rank
  by success alone)."""
  x: jax.Array
  success: jax.Array
  score: jax.Array | None = None


def _expand(mask, like):
  return mask.reshape((-1,) + (1,) * (like.ndim - 1))


def keep_first_success(kept: Kept, run: Kept, *, higher_is_better: bool = True) -> Kept:
  """`kept` updated by a later run's `run`, per example.

  An example already successful keeps its point; otherwise it takes the run's
  point if that succeeds or scores strictly better (higher, or lower with
  `higher_is_better=False`: a margin, a distance).
  """
  take = ~kept.success & run.success
  score = None
  if kept.score is not None:
    better = run.score > kept.score if higher_is_better else run.score < kept.score
    take = take | (~kept.success & better)
    score = jnp.where(take, run.score, kept.score)
  x = jax.tree.map(lambda new, old: jnp.where(_expand(take, old), new, old), run.x, kept.x)
  return Kept(x, kept.success | run.success, score)
