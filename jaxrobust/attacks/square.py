"""Square attack: score-based random search over square windows, Linf and L2.

References:
  Andriushchenko, Croce, Flammarion & Hein, "Square Attack: a query-efficient
  black-box adversarial attack via random search", ECCV 2020.
"""

from __future__ import annotations

import math
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrobust.attacks import _core
from jaxrobust.attacks._base import Attack, static
from jaxrobust.attacks._select import Kept, keep_first_success
from jaxrobust.losses import cw_margin

# Iterations (in units of a 10,000-query budget) after which p is halved.
HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)


def p_schedule(p_init: float, n_queries: int) -> np.ndarray:
  """p at each iteration i = 0 .. n_queries - 2 (query 0 is the initialisation).

  p is halved once the iteration, rescaled to a 10,000-query budget as
  floor(i * 10000 / n_queries), passes each of HALVINGS; this is the paper's
  schedule and `p_selection` of its code, computed in exact integer arithmetic.
  """
  i = np.arange(max(n_queries - 1, 0))
  return p_init / 2.0 ** _halvings(i, n_queries)


def _thresholds(n_queries: int) -> np.ndarray:
  """Iteration i is past halving b iff floor(i * 10000 / n) > b iff i * 10000 >= (b + 1) * n."""
  return np.array([-(-(b + 1) * n_queries // 10000) for b in HALVINGS], np.int32)


def _halvings(i, n_queries: int):
  """How many times p has been halved at iteration i (numpy or jax integers)."""
  thresholds = _thresholds(n_queries)
  if isinstance(i, np.ndarray):
    return np.sum(i[:, None] >= thresholds[None, :], axis=1)
  return jnp.sum(i >= jnp.asarray(thresholds))


def window_sizes(p_init: float, norm: str, height: int, width: int) -> tuple:
  """Side s of the square window for each number of halvings k = 0 .. 9.

  s = round(sqrt(p * height * width)) with p = p_init / 2^k: a fraction p of
  the pixels of each channel. Linf: s >= 1; L2: s >= 3 and odd (the L2 update
  splits the window in two halves of opposite sign). At most min(height, width).
  """
  sizes = []
  for k in range(len(HALVINGS) + 1):
    s = int(round(math.sqrt(p_init / 2 ** k * height * width)))
    if norm == "linf":
      s = max(s, 1)
    else:
      s = max(s, 3)
      s += 1 - s % 2
    sizes.append(min(s, height, width))
  return tuple(sizes)


def _pseudo_gaussian(rows: int, cols: int) -> np.ndarray:
  """The paper's M^(rows, cols): sum_{n >= d} 1 / (n + 1)^2 over the nested
  squares around the centre, d the Chebyshev distance to it; unit Frobenius norm."""
  n_boxes = max(rows // 2 + 1, cols // 2 + 1)
  i = np.abs(np.arange(rows) - rows // 2)[:, None]
  j = np.abs(np.arange(cols) - cols // 2)[None, :]
  d = np.maximum(i, j)
  weights = 1.0 / (np.arange(n_boxes) + 1.0) ** 2
  tail = np.cumsum(weights[::-1])[::-1]  # tail[d] = sum_{n >= d} weights[n]
  m = tail[d]
  return m / np.sqrt(np.sum(m * m))


def eta(s: int) -> np.ndarray:
  """The L2 update's s x s window: M on the top half and -M on the bottom half,
  unit Frobenius norm (the paper's eta; it is transposed at random when used)."""
  top = _pseudo_gaussian(s // 2, s) if s // 2 else np.zeros((0, s))
  window = np.concatenate([top, -_pseudo_gaussian(s - s // 2, s)], axis=0)
  return window / np.sqrt(np.sum(window * window))


class SquareState(NamedTuple):
  """The search state of one restart, per example.

  x_best [batch, h, w, c]: the best point so far; margin [batch]: its margin
  (> 0 while not fooled); queries [batch] int32: model queries used; active
  [batch] bool: still searching (not fooled and not skipped).
  """
  x_best: jax.Array
  margin: jax.Array
  queries: jax.Array
  active: jax.Array


def _expand(v, like):
  return v.reshape((-1,) + (1,) * (like.ndim - 1))


def _window(start_r, start_c, s, height, width):
  """Per-example boolean masks [batch, h, w, 1] of the s x s windows at (start_r, start_c)."""
  rows = jnp.arange(height)[None, :]
  cols = jnp.arange(width)[None, :]
  in_r = (rows >= start_r[:, None]) & (rows < start_r[:, None] + s)
  in_c = (cols >= start_c[:, None]) & (cols < start_c[:, None] + s)
  return (in_r[:, :, None] & in_c[:, None, :])[..., None]


def _positions(key, s, height, width, batch):
  """Window corners uniform over all positions that keep the window inside the image."""
  kr, kc = jax.random.split(key)
  return (jax.random.randint(kr, (batch,), 0, height - s + 1),
          jax.random.randint(kc, (batch,), 0, width - s + 1))


def _signs(key, shape, dtype):
  return jnp.where(jax.random.bernoulli(key, 0.5, shape), 1.0, -1.0).astype(dtype)


def _l2_normalise(v, axis):
  return v / jnp.maximum(jnp.sqrt(jnp.sum(v * v, axis=axis, keepdims=True)), 1e-12)


@struct.dataclass
class Square(Attack):
  """Random search for a point of the eps ball that lowers the margin.

  Each query changes the current best point on one random s x s window (all
  channels) and is accepted, per example, only if the margin
  z_y - max_{j != y} z_j (targeted: max_{j != t} z_j - z_t) decreases; an
  example stops once the margin is <= 0. Only logits are used, never gradients.

  Linf: initial vertical stripes x + eps * (+-1 per column and channel); a
  proposal sets the window to x + eps * (+-1 per channel), a vertex of the ball.
  L2: initial grid of 5 x 5 "pseudo-Gaussian" bumps with random signs, scaled to
  ||delta||_2 = eps; a proposal moves the perturbation's mass from a second
  random window into the first, adding the paper's eta (+M on one half, -M on
  the other) per channel, then rescales to ||delta||_2 = eps.

  Window sides follow the paper's p schedule (`p_schedule`, `window_sizes`):
  p_init halved at 10, 50, 200, ..., 8000 of 10,000 queries, rescaled to
  n_queries.

  Deliberate differences from the reference code (same law per example):
  windows, signs and transposes are drawn per example (the paper's algorithm)
  where the AutoAttack/torchattacks code draws one window per batch and query;
  window corners are uniform over every position inside the image (the code's
  randint(0, h - s) never reaches the last one); `n_queries` counts the
  initialisation, as the paper's budget does (the AutoAttack code runs
  n_queries iterations after it). Linf, as in the paper's code and unlike
  AutoAttack's: a proposal that would leave the window unchanged gets other
  signs (no query is spent on a no-op; `redraw_noops`).

  Attributes:
    eps: radius of the ball.
    n_queries: query budget per restart, initialisation included (static).
    p_init: initial fraction of pixels per window (static: it only sets the
      integer window sides).
    n_restarts: independent restarts on the examples still not fooled (static).
    norm: "linf" or "l2" (static).
    targeted: if True, `y` are target labels (static).
    redraw_noops: Linf: redraw the signs of a proposal that would not change
      the window, as the paper's code does (static); False spends the query on
      it, as AutoAttack's code does.
  """
  NORMS: ClassVar[tuple] = ("linf", "l2")
  NONNEGATIVE = ("eps",)
  MINIMUMS = {"n_queries": 1, "n_restarts": 1}
  IMAGES = True
  RANDOMIZED = "a random search"

  eps: float = 0.3
  n_queries: int = static(5000)
  p_init: float = static(0.8)
  n_restarts: int = static(1)
  norm: str = static("linf")
  targeted: bool = static(False)
  redraw_noops: bool = static(True)

  def check_static(self):
    if not (isinstance(self.p_init, (float, int)) and 0 < self.p_init <= 1):
      raise ValueError(f"p_init must be a number in (0, 1], got {self.p_init!r}.")

  def run(self, logits_fn, x, y, key):
    return self._search(logits_fn, x, y, key)[0]

  def with_queries(self, logits_fn: _core.LogitsFn, x: jax.Array, y: jax.Array, *,
                   key: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """Returns (x_adv [batch, h, w, c], queries [batch] int32), checked as `__call__`.

    x_adv is the point of lowest margin found (x itself where the clean input
    is already misclassified: no query is spent on it); queries counts the
    model evaluations spent on each example over all restarts.
    """
    self.check_call(x, y, key, logits_fn)
    return self._search(logits_fn, x, y, key)

  def _search(self, logits_fn, x, y, key) -> tuple[jax.Array, jax.Array]:
    if self.norm == "l2" and min(x.shape[1:3]) < 5:
      raise ValueError(f"Square L2 needs images of at least 5 x 5 pixels, got {x.shape[1:3]}.")
    margin_clean = self.margin(logits_fn(x), y)

    def restart(r, carry):
      kept, queries = carry
      state = self.init(logits_fn, x, y, jax.random.fold_in(key, r), active=kept.score > 0)
      state = jax.lax.while_loop(
          lambda c: (c[0] < self.n_queries - 1) & jnp.any(c[1].active),
          lambda c: (c[0] + 1, self.step(logits_fn, x, y, c[1], c[0],
                                         jax.random.fold_in(key, r))),
          (jnp.zeros((), jnp.int32), state))[1]
      # Lower margins are better; a margin <= 0 is a success, kept from then on.
      found = Kept(state.x_best, state.margin <= 0, state.margin)
      return (keep_first_success(kept, found, higher_is_better=False),
              queries + state.queries)

    kept, queries = jax.lax.fori_loop(
        0, self.n_restarts, restart,
        (Kept(x, margin_clean <= 0, margin_clean), jnp.zeros(x.shape[:1], jnp.int32)))
    return kept.x, queries

  def margin(self, logits: jax.Array, y: jax.Array) -> jax.Array:
    """[batch]: z_y - max_{j != y} z_j (targeted: max_{j != y} z_j - z_y); <= 0: fooled."""
    m = cw_margin(logits, y)
    return m if self.targeted else -m

  def init(self, logits_fn, x, y, key, active=None) -> SquareState:
    """The first query: stripes (Linf) or bumps (L2) on the `active` examples."""
    if active is None:
      active = jnp.ones(x.shape[:1], bool)
    delta = (self._linf_init(key, x) if self.norm == "linf" else self._l2_init(key, x))
    x_init = jnp.where(_expand(active, x), _core.clip_to_box(x + delta), x)
    margin = self.margin(logits_fn(x_init), y)
    return SquareState(x_init, margin, active.astype(jnp.int32), active & (margin > 0))

  def step(self, logits_fn, x, y, state: SquareState, i, key) -> SquareState:
    """Query i (0-based, after the initialisation): propose, then accept per
    example only if the margin decreases; inactive examples do not change."""
    key = jax.random.fold_in(key, i + 1)
    k = _halvings(i, self.n_queries)
    s = jnp.asarray(window_sizes(self.p_init, self.norm, *x.shape[1:3]))[k]
    propose = self._linf_proposal if self.norm == "linf" else self._l2_proposal
    x_new = propose(key, x, state.x_best, s, k)
    margin_new = self.margin(logits_fn(x_new), y)
    accept = state.active & (margin_new < state.margin)
    margin = jnp.where(accept, margin_new, state.margin)
    return SquareState(jnp.where(_expand(accept, x), x_new, state.x_best), margin,
                       state.queries + state.active.astype(jnp.int32),
                       state.active & (margin > 0))

  # Linf ---------------------------------------------------------------------

  def _linf_init(self, key, x):
    batch, _, width, channels = x.shape
    return self.eps * _signs(key, (batch, 1, width, channels), x.dtype)

  def _linf_proposal(self, key, x, x_best, s, k):
    del k
    batch, height, width, channels = x.shape
    k_pos, k_sign, k_flip = jax.random.split(key, 3)
    window = _window(*_positions(k_pos, s, height, width, batch), s, height, width)
    signs = _signs(k_sign, (batch, 1, 1, channels), x.dtype)

    def candidate(signs):
      return jnp.where(window, _core.clip_to_box(x + self.eps * signs), x_best)

    x_new = candidate(signs)
    if not self.redraw_noops:
      return x_new
    # The paper's code redraws the signs while the window would not change;
    # every other sign pattern does change it (for eps > 0): draw one uniformly
    # among the 2^c - 1 others by flipping the channels of a nonzero bit mask.
    same = jnp.all(jnp.where(window, jnp.abs(x_new - x_best) < 1e-7, True), axis=(1, 2, 3))
    bits = jax.random.randint(k_flip, (batch,), 1, 2 ** channels)
    flip = (bits[:, None] >> jnp.arange(channels)) & 1
    flipped = signs * (1 - 2 * flip).astype(x.dtype).reshape(batch, 1, 1, channels)
    return candidate(jnp.where(_expand(same, x), flipped, signs))

  # L2 -----------------------------------------------------------------------

  def _l2_init(self, key, x):
    batch, height, width, channels = x.shape
    side = min(height, width) // 5
    pattern = jnp.asarray(eta(side), x.dtype)

    def tiles(n):  # per pixel: tile index (or -1) and offset inside the tile
      start = (n - 5 * side) // 2
      index = np.full(n, -1)
      offset = np.zeros(n, int)
      for t in range(n // side):
        lo, hi = start + t * side, min(start + (t + 1) * side, n)
        index[lo:hi], offset[lo:hi] = t, np.arange(hi - lo)
      return index, offset, n // side

    row_t, row_o, n_r = tiles(height)
    col_t, col_o, n_c = tiles(width)
    k_t, k_s = jax.random.split(key)
    transpose = jax.random.bernoulli(k_t, 0.5, (batch, n_r, n_c))
    signs = _signs(k_s, (batch, n_r, n_c, channels), x.dtype)
    rt, ct = np.maximum(row_t, 0)[:, None], np.maximum(col_t, 0)[None, :]
    ro, co = row_o[:, None], col_o[None, :]
    value = jnp.where(transpose[:, rt, ct], pattern[co, ro][None], pattern[ro, co][None])
    covered = jnp.asarray((row_t[:, None] >= 0) & (col_t[None, :] >= 0))
    delta = jnp.where(covered[None, :, :, None], value[..., None] * signs[:, rt, ct], 0.0)
    return self.eps * _l2_normalise(delta, axis=(1, 2, 3))

  def _l2_proposal(self, key, x, x_best, s, k):
    batch, height, width, channels = x.shape
    sizes = window_sizes(self.p_init, self.norm, height, width)
    s_max = max(sizes)
    patterns = np.zeros((len(sizes), s_max, s_max))
    for j, side in enumerate(sizes):
      patterns[j, :side, :side] = eta(side)
    k_w1, k_w2, k_t, k_s = jax.random.split(key, 4)
    r1, c1 = _positions(k_w1, s, height, width, batch)
    window1 = _window(r1, c1, s, height, width)
    window2 = _window(*_positions(k_w2, s, height, width, batch), s, height, width)

    delta = x_best - x
    sq = delta * delta
    norm_w1 = jnp.sqrt(jnp.sum(jnp.where(window1, sq, 0.0), axis=(1, 2), keepdims=True))
    norm_both = jnp.sqrt(jnp.sum(jnp.where(window1 | window2, sq, 0.0), axis=(1, 2),
                                 keepdims=True))
    norm_all = jnp.sqrt(jnp.sum(sq, axis=(1, 2, 3), keepdims=True))

    # eta of side s, transposed at random per example, placed at (r1, c1).
    pattern = jnp.asarray(patterns, x.dtype)[k]
    pattern = jnp.where(jax.random.bernoulli(k_t, 0.5, (batch, 1, 1)), pattern.T[None],
                        pattern[None])
    ri = jnp.clip(jnp.arange(height)[None, :] - r1[:, None], 0, s_max - 1)
    ci = jnp.clip(jnp.arange(width)[None, :] - c1[:, None], 0, s_max - 1)
    placed = pattern[jnp.arange(batch)[:, None, None], ri[:, :, None], ci[:, None, :]]
    signs = _signs(k_s, (batch, 1, 1, channels), x.dtype)

    # New window 1: eta plus the old window's direction, rescaled so that it
    # takes window 2's mass and any slack left in the ball (per channel).
    new = placed[..., None] * signs + jnp.where(window1, delta, 0.0) / (1e-10 + norm_w1)
    new = jnp.where(window1, new, 0.0)
    budget = jnp.sqrt(jnp.maximum(self.eps ** 2 - norm_all ** 2, 0.0) / channels
                      + norm_both ** 2)
    new = _l2_normalise(new, axis=(1, 2)) * budget
    delta = jnp.where(window1, new, jnp.where(window2, 0.0, delta))
    return _core.clip_to_box(x + self.eps * _l2_normalise(delta, axis=(1, 2, 3)))
