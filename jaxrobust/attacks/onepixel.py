"""One-pixel attack: differential evolution over the positions and values of a few pixels.

References:
  Su, Vargas & Sakurai, "One pixel attack for fooling deep neural networks",
  IEEE Transactions on Evolutionary Computation, 2019; Storn & Price,
  "Differential evolution", J. Global Optimization 1997 (DE/rand/1).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust.attacks._base import Attack, static


def set_pixels(x: jax.Array, candidate: jax.Array) -> jax.Array:
  """One image x [h, w, c] with `pixels` pixels overwritten by candidate [pixels, 2 + c].

  A candidate row is (row, col, value_1..value_c); row and col are continuous
  in [0, h) x [0, w) and floored, so the search space is a box.
  """
  h, w = x.shape[:2]
  rows = jnp.clip(jnp.floor(candidate[:, 0]).astype(jnp.int32), 0, h - 1)
  cols = jnp.clip(jnp.floor(candidate[:, 1]).astype(jnp.int32), 0, w - 1)
  return x.at[rows, cols].set(candidate[:, 2:].astype(x.dtype))


def _distinct_others(key: jax.Array, batch: int, pop: int):
  """For every member i of every population: r1, r2, r3 [batch, pop], uniform over
  the distinct triples of members other than i.

  Each draw is uniform over the members not yet taken and shifted past the taken
  ones in increasing order, which needs no permutation of the population.
  """
  i = jnp.broadcast_to(jnp.arange(pop), (batch, pop))
  keys = jax.random.split(key, 3)
  r1 = jax.random.randint(keys[0], (batch, pop), 0, pop - 1)
  r1 = r1 + (r1 >= i)
  lo, hi = jnp.minimum(i, r1), jnp.maximum(i, r1)
  r2 = jax.random.randint(keys[1], (batch, pop), 0, pop - 2)
  r2 = r2 + (r2 >= lo)
  r2 = r2 + (r2 >= hi)
  a, b, c = jnp.sort(jnp.stack([i, r1, r2]), axis=0)
  r3 = jax.random.randint(keys[2], (batch, pop), 0, pop - 3)
  r3 = r3 + (r3 >= a)
  r3 = r3 + (r3 >= b)
  r3 = r3 + (r3 >= c)
  return r1, r2, r3


@struct.dataclass
class OnePixel(Attack):
  """Changes at most `pixels` pixels per image, found by differential evolution.

  Each image has its own population of `popsize` candidates, each (row, col,
  channel values) for `pixels` pixels, initialised uniformly over the image and
  [0, 1]. One generation makes, for every member i, the child
  x_r1 + mutation * (x_r2 - x_r3) (DE/rand/1 with r1, r2, r3 distinct random
  members, no crossover, as the paper), clipped to the box of positions and
  values; the child replaces its parent if its fitness is not worse. Fitness is
  the softmax probability of the true class (untargeted, minimised) or of the
  target (maximised). An image whose best member is adversarial stops evolving;
  the loop ends when all have or after `steps` generations. The whole
  population of the batch is evaluated in one call to `logits_fn`
  (batch * popsize images).

  Attributes:
    pixels: number of pixels changed (static; the paper's 1, 3, 5).
    steps: number of generations (static; the paper uses 100).
    popsize: population size per image (static; the paper uses 400).
    mutation: the differential weight F (the paper's 0.5).
    targeted: if True, `y` are target labels (static).
  """
  pixels: int = static(1)
  steps: int = static(10)
  popsize: int = static(10)
  mutation: float = 0.5
  targeted: bool = static(False)

  NONNEGATIVE = ("mutation",)
  # DE/rand/1 draws three members other than the parent.
  MINIMUMS = {"pixels": 1, "popsize": 4}
  IMAGES = True
  RANDOMIZED = "the search is random"

  def run(self, logits_fn, x, y, key):
    """x_adv differs from x in at most `pixels` pixels; logits_fn is only evaluated."""
    batch, h, w, c = x.shape
    pop, dims = self.popsize, (self.pixels, 2 + c)
    upper = jnp.concatenate([jnp.array([h, w], x.dtype), jnp.ones(c, x.dtype)])
    # Positions live in [0, h) x [0, w): keep the top just below h, w so floor is in range.
    upper_clip = upper - jnp.concatenate([jnp.full(2, 1e-3, x.dtype), jnp.zeros(c, x.dtype)])

    def images(population):  # [batch, pop, pixels, 2 + c] -> [batch * pop, h, w, c]
      per_image = jax.vmap(set_pixels, in_axes=(None, 0))
      return jax.vmap(per_image)(x, population).reshape((batch * pop,) + x.shape[1:])

    def evaluate(population):
      """Fitness [batch, pop] (lower is better) and success [batch, pop]."""
      logits = logits_fn(images(population)).reshape(batch, pop, -1)
      prob = jnp.take_along_axis(jax.nn.softmax(logits, -1), y[:, None, None], axis=-1)[..., 0]
      hit = jnp.argmax(logits, -1) == y[:, None]
      if self.targeted:
        return 1.0 - prob, hit
      return prob, ~hit

    def best(fitness, success):
      # A successful member wins over any unsuccessful one, then the fitness decides.
      return jnp.argmin(jnp.where(success, fitness - 2.0, fitness), axis=1)

    init_key, key = jax.random.split(key)
    population = jax.random.uniform(init_key, (batch, pop) + dims, x.dtype) * upper_clip
    fitness, success = evaluate(population)

    def generation(carry):
      i, population, fitness, success = carry
      k = jax.random.fold_in(key, i)
      r1, r2, r3 = _distinct_others(k, batch, pop)
      pick = lambda r: jnp.take_along_axis(population, r.reshape(batch, pop, 1, 1), axis=1)
      child = jnp.clip(pick(r1) + self.mutation * (pick(r2) - pick(r3)), 0.0, upper_clip)
      child_fitness, child_success = evaluate(child)
      active = ~jnp.any(success, axis=1)  # images not yet broken keep evolving
      take = (child_fitness <= fitness) & active[:, None]
      population = jnp.where(take[..., None, None], child, population)
      fitness = jnp.where(take, child_fitness, fitness)
      success = jnp.where(take, child_success, success)
      return i + 1, population, fitness, success

    def not_done(carry):
      i, _, _, success = carry
      return (i < self.steps) & ~jnp.all(jnp.any(success, axis=1))

    _, population, fitness, success = jax.lax.while_loop(
        not_done, generation, (jnp.asarray(0), population, fitness, success))
    winner = jnp.take_along_axis(
        population, best(fitness, success).reshape(batch, 1, 1, 1), axis=1)[:, 0]
    return jax.vmap(set_pixels)(x, winner)
