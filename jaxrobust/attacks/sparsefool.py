"""SparseFool: sparse perturbations from DeepFool's boundary point and a box-constrained L1 solver.

References:
  Modas, Moosavi-Dezfooli & Frossard, "SparseFool: a few pixels make a big
  difference", CVPR 2019 (Algorithms 1 and 2; the authors' code, LTS4/SparseFool).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust import _checks
from jaxrobust.attacks import _core
from jaxrobust.attacks._base import Attack, static
from jaxrobust.attacks.deepfool import DeepFool

# The solver's overshoot of the plane (the paper's code: beta = 0.001), and its
# smallest coordinate step (1e-4).
_BETA, _MIN_STEP = 1e-3, 1e-4


def linear_solver(x: jax.Array, normal: jax.Array, point: jax.Array) -> jax.Array:
  """The sparse step of SparseFool (Algorithm 1) for one example, in closed form.

  Moves x [...] towards the hyperplane {z : normal . (z - point) = 0}, one
  coordinate at a time in decreasing order of |normal|, each to the plane (plus
  the overshoot beta) if the box [0, 1] allows, else to the box's bound, until
  the plane is crossed. The greedy loop of the paper visits coordinates in a
  fixed order and every visited coordinate but the last ends at a bound, so the
  result is a sort and a cumulative sum: no loop over coordinates.
  """
  n, p, z = normal.reshape(-1), point.reshape(-1), x.reshape(-1)
  f = jnp.dot(n, z - p)
  # The paper's code always moves along +sign(normal), which reaches the plane
  # when f < 0 (x on the side of its own class, as after DeepFool); moving
  # towards the plane covers the other sign too.
  side = jnp.where(f > 0, 1.0, -1.0)
  direction = -side * jnp.sign(n)
  room = jnp.where(direction > 0, 1.0 - z, jnp.where(direction < 0, z, 0.0))
  order = jnp.argsort(-jnp.abs(n), stable=True)  # ties: the lowest index first, as argmax
  abs_n, room_o = jnp.abs(n)[order], room[order]
  needed = jnp.abs(f) + _BETA  # how far n . z must move
  gain = abs_n * room_o
  before = jnp.cumsum(gain) - gain  # moved by the coordinates visited earlier
  # Visited: every coordinate up to the first one whose full move covers the rest.
  reaches = before + gain >= needed
  last = jnp.argmax(reaches)  # the coordinate that lands on the plane
  visited = jnp.where(jnp.any(reaches), jnp.arange(n.size) <= last, True) & (abs_n > 0)
  remaining = jnp.maximum(needed - before, 0.0)
  step = jnp.maximum(remaining / jnp.where(abs_n > 0, abs_n, 1.0), _MIN_STEP)
  step = jnp.minimum(step, room_o)  # the box, as the paper's clip after each step
  moved = z[order] + jnp.where(visited, direction[order] * step, 0.0)
  return z.at[order].set(moved).reshape(x.shape)


@struct.dataclass
class SparseFool(Attack):
  """SparseFool: repeat {DeepFool boundary point, sparse linear step} until misclassified.

  From x_i (x_0 = x): DeepFool (at most `deepfool_steps` steps) finds r, the
  approximate minimal L2 step to the boundary, and the boundary point
  x_B = x_i + lam * r; the normal w is the gradient of z_k - z_y at x_i + r (k
  the class DeepFool reached); `linear_solver` moves x_i sparsely to the plane
  (w, x_B) inside [0, 1], giving x_{i+1}. The candidate
  clip(x + (1 + overshoot) (x_{i+1} - x)) is returned for an example once it is
  misclassified (or after `steps`). lam > 1 pushes the plane away from x, which
  trades sparsity for fewer iterations (the paper's lambda).

  The DeepFool stage is `DeepFool` of this package (torchattacks' order: its
  overshoot at every step, each step clipped to the box), where the paper's code
  accumulates unclipped steps; the sparse stage follows the paper's code
  (LinearSolver from x_i, not from x as torchattacks does). Untargeted only;
  examples misclassified at the start are returned unchanged.

  Attributes:
    steps: maximum SparseFool iterations (static; the paper's code uses 20).
    lam: the paper's lambda (3 in the paper's experiments).
    overshoot: the final scaling (1 + overshoot) of the perturbation (0.02).
    deepfool_steps: maximum steps of each DeepFool call (static; 50).
    num_classes: DeepFool's candidate classes, as DeepFool's field (static).
  """
  steps: int = static(20)
  lam: float = 3.0
  overshoot: float = 0.02
  deepfool_steps: int = static(50)
  num_classes: int | None = static(None)

  NONNEGATIVE = ("lam", "overshoot")
  MINIMUMS = {"deepfool_steps": 1, "num_classes": 2}

  def check_numeric(self):
    _checks.check_number("lam (the boundary point is x_i + lam * r)", self.lam, low=1)

  def run(self, logits_fn, x, y, key):
    """Deterministic; y are the true labels; x_adv differs from x in few coordinates."""
    deepfool = DeepFool(steps=self.deepfool_steps, num_classes=self.num_classes)
    expand = lambda v: v.reshape((-1,) + (1,) * (x.ndim - 1))

    def normal_at(x_df):
      """grad (z_k - z_y) / ||.||_2 at x_df, k its best class other than y."""
      logits = logits_fn(x_df)
      k = jnp.argmax(jnp.where(jax.nn.one_hot(y, logits.shape[-1], dtype=bool),
                               -jnp.inf, logits), axis=-1)
      def margin(z):
        z = logits_fn(z)
        return jnp.sum(jnp.take_along_axis(z, k[:, None], 1) - jnp.take_along_axis(z, y[:, None], 1))
      g = jax.grad(margin)(x_df)
      return g / expand(jnp.maximum(_core.norm(g, "l2"), 1e-12))

    def step(carry):
      i, x_i, fool, active = carry
      x_df = deepfool(logits_fn, x_i, y)
      x_b = x_i + self.lam * (x_df - x_i)
      x_next = jax.vmap(linear_solver)(x_i, normal_at(x_df), x_b)
      candidate = _core.clip_to_box(x + (1 + self.overshoot) * (x_next - x))
      x_i = jnp.where(expand(active), x_next, x_i)
      fool = jnp.where(expand(active), candidate, fool)
      active = active & (jnp.argmax(logits_fn(fool), -1) == y)
      return i + 1, x_i, fool, active

    def not_done(carry):
      i, _, _, active = carry
      return (i < self.steps) & jnp.any(active)

    active = jnp.argmax(logits_fn(x), -1) == y
    return jax.lax.while_loop(not_done, step, (jnp.asarray(0), x, x, active))[2]
