"""Pixle: a black-box random search that copies patches of an image's own pixels elsewhere.

References:
  Pomponi, Scardapane & Uncini, "Pixle: a fast and effective black-box attack
  based on rearranging pixels", IJCNN 2022.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust.attacks import _core
from jaxrobust.attacks._base import Attack, static

MAPPINGS = ("random", "similarity", "similarity_random", "distance", "distance_random")


def _bounds(dimensions, size: int) -> tuple[int, int]:
  """(lo, hi) patch side in pixels from ints or fractions of `size`."""
  lo, hi = (max(1, d if isinstance(d, int) else round(size * d)) for d in dimensions)
  return min(lo, size), min(hi, size)


def _check_dimensions(name: str, dimensions) -> None:
  ok = (isinstance(dimensions, tuple) and len(dimensions) == 2 and all(
      (isinstance(d, int) and not isinstance(d, bool) and d > 0)
      or (isinstance(d, float) and 0 < d <= 1) for d in dimensions)
        and dimensions[0] <= dimensions[1])
  if not ok:
    raise ValueError(f"{name} must be a (lo, hi) pair of ints > 0 (pixels) or floats in "
                     f"(0, 1] (fractions of the side) with lo <= hi, got {dimensions!r}.")


@struct.dataclass
class Pixle(Attack):
  """Rearranges pixels: copies a random patch of x's own pixels to chosen positions.

  For every image, `restarts` rounds of `max_iterations` candidates each. A
  candidate takes a random patch (top-left corner uniform, sides uniform in
  `x_dimensions` x `y_dimensions`, cut at the image border) of the clean image
  and writes its pixels, one by one, to destination pixels of the current best
  image, chosen by `pixel_mapping`:
    random: uniform over the image;
    similarity / distance: the pixel most similar (1 / (1 + d)) or most distant
      (d = mean |difference| over channels) from the source pixel;
    *_random: sampled with probabilities softmax(similarity) or softmax(d).
  The loss is the softmax probability of the true class (of 1 - target's, if
  targeted). After each round the best candidate so far becomes the current
  image if it lowers the loss; an image stops at its first adversarial candidate.
  The `max_iterations` candidates of a round all start from the same image, so
  they are evaluated in one call (batch * max_iterations images).

  Every changed pixel of x_adv holds the value of some pixel of x (the attack
  only copies pixels), so no value outside x's own palette appears.

  Attributes:
    restarts: rounds (static; torchattacks' default 20).
    max_iterations: candidates per round (static; default 10).
    x_dimensions: (lo, hi) patch width, ints in pixels or floats as fractions
      of the width (static).
    y_dimensions: (lo, hi) patch height, likewise (static).
    pixel_mapping: one of MAPPINGS (static).
    targeted: if True, `y` are target labels (static).
  """
  restarts: int = static(20)
  max_iterations: int = static(10)
  x_dimensions: tuple = static((2, 10))
  y_dimensions: tuple = static((2, 10))
  pixel_mapping: str = static("random")
  targeted: bool = static(False)

  NONNEGATIVE = ()
  MINIMUMS = {"restarts": 1, "max_iterations": 1}
  IMAGES = True
  RANDOMIZED = "the search is random"

  def check_static(self):
    _check_dimensions("x_dimensions", self.x_dimensions)
    _check_dimensions("y_dimensions", self.y_dimensions)
    _core.check_choice("pixel_mapping", self.pixel_mapping, MAPPINGS)

  def run(self, logits_fn, x, y, key):
    """Every changed pixel holds a pixel value of x; logits_fn is only evaluated."""
    batch, h, w, c = x.shape
    n_cand = self.max_iterations
    x_lo, x_hi = _bounds(self.x_dimensions, w)
    y_lo, y_hi = _bounds(self.y_dimensions, h)
    flat_x = x.reshape(batch, h * w, c)

    def candidate(k, source, current):
      """One candidate from source [h*w, c] (clean) and current [h*w, c]."""
      k_corner, k_size, k_dest = jax.random.split(k, 3)
      # Corner and size as torchattacks draws them: a corner in [0, side - 1),
      # then the patch is cut at the border.
      u = jax.random.uniform(k_corner, (2,))
      col0 = (u[0] * (w - 1)).astype(jnp.int32)
      row0 = (u[1] * (h - 1)).astype(jnp.int32)
      sizes = jax.random.randint(k_size, (2,), jnp.array([x_lo, y_lo]),
                                 jnp.array([x_hi, y_hi]) + 1)
      width = jnp.minimum(sizes[0], w - col0)
      height = jnp.minimum(sizes[1], h - row0)
      di, dj = jnp.meshgrid(jnp.arange(y_hi), jnp.arange(x_hi), indexing="ij")
      valid = ((di < height) & (dj < width)).reshape(-1)
      src = (jnp.minimum(row0 + di, h - 1) * w + jnp.minimum(col0 + dj, w - 1)).reshape(-1)
      values = source[src]  # [patch, c]
      dest = self._destinations(k_dest, values, src, current)
      # Masked entries scatter out of range and are dropped.
      dest = jnp.where(valid, dest, h * w)
      return current.at[dest].set(values, mode="drop")

    def loss_and_success(images):
      logits = logits_fn(images.reshape((-1, h, w, c))).reshape(batch, -1, logits_dim)
      prob = jnp.take_along_axis(jax.nn.softmax(logits, -1), y[:, None, None], -1)[..., 0]
      hit = jnp.argmax(logits, -1) == y[:, None]
      return (1.0 - prob, hit) if self.targeted else (prob, ~hit)

    logits_dim = jax.eval_shape(logits_fn, x[:1]).shape[-1]
    loss0, done0 = loss_and_success(flat_x[:, None])

    def round_(r, carry):
      current, best_loss, done = carry
      keys = jax.random.split(jax.random.fold_in(key, r), batch * n_cand).reshape(
          batch, n_cand)
      cands = jax.vmap(jax.vmap(candidate, in_axes=(0, None, None)))(keys, flat_x, current)
      loss, success = loss_and_success(cands)
      # The first successful candidate of the round, else the lowest loss.
      pick = jnp.where(jnp.any(success, 1), jnp.argmax(success, 1), jnp.argmin(loss, 1))
      chosen = jnp.take_along_axis(cands, pick[:, None, None, None], 1)[:, 0]
      chosen_loss = jnp.take_along_axis(loss, pick[:, None], 1)[:, 0]
      chosen_success = jnp.take_along_axis(success, pick[:, None], 1)[:, 0]
      take = ~done & (chosen_success | (chosen_loss < best_loss))
      current = jnp.where(take[:, None, None], chosen, current)
      best_loss = jnp.where(take, chosen_loss, best_loss)
      return current, best_loss, done | (take & chosen_success)

    current, _, _ = jax.lax.fori_loop(0, self.restarts, round_,
                                      (flat_x, loss0[:, 0], done0[:, 0]))
    return current.reshape(x.shape)

  def _destinations(self, key, values, src, current):
    """Destination index in [0, h*w) for each patch pixel; values [patch, c]."""
    n = current.shape[0]
    if self.pixel_mapping == "random":
      # torchattacks draws int(u * (side - 1)): never the last row or column;
      # we draw uniformly over the whole image.
      return jax.random.randint(key, (values.shape[0],), 0, n)
    d = jnp.mean(jnp.abs(current[None] - values[:, None]), axis=-1)  # [patch, h*w]
    score = 1.0 / (1.0 + d) if self.pixel_mapping.startswith("similarity") else d
    if self.pixel_mapping.startswith("similarity"):
      # An identical pixel is no move at all: it gets similarity 0, as in the paper's code.
      score = jnp.where(d == 0, 0.0, score)
    # A pixel is never its own destination.
    score = jnp.where(jnp.arange(n)[None] == src[:, None], -jnp.inf, score)
    if self.pixel_mapping.endswith("_random"):
      return jax.random.categorical(key, score, axis=-1)
    return jnp.argmax(score, axis=-1)
