"""What every measure sees: one model (apply_fn, params, params_init) and a batch,
with its adversarial examples made once."""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust import _checks
from jaxrobust.attacks.pgd import madry_pgd

ApplyFn = Callable[[Any, jax.Array], jax.Array]

# fold_in tags of the independent random streams.
_ATTACK, _MEASURES = 0, 1


@struct.dataclass
class MeasureInputs:
  """One model and the examples it is measured on.

  Attributes:
    apply_fn: (params, x [batch, ...]) -> logits [batch, classes] (static).
    params, params_init: trained and initial parameter pytrees.
    x: inputs [batch, ...] in [0, 1]; y: integer labels [batch].
    x_adv: adversarial inputs [batch, ...] of the attack at `params`.
    eps: the attack's radius (the eps-ball of the smoothness measures).
    key: PRNG key of the measures' own randomness.
  """
  apply_fn: ApplyFn = struct.field(pytree_node=False)
  params: Any
  params_init: Any
  x: jax.Array
  y: jax.Array
  x_adv: jax.Array
  eps: jax.Array
  key: jax.Array

  def logits_fn(self, params: Any = None) -> Callable[[jax.Array], jax.Array]:
    """The `logits_fn` contract (DESIGN.md) at `params` (default: the trained ones)."""
    p = self.params if params is None else params
    return lambda z: self.apply_fn(p, z)

  def inputs(self, on: str) -> jax.Array:
    """x for on="clean", x_adv for on="adv"."""
    _checks.check_choice("on", on, ON)
    return self.x if on == "clean" else self.x_adv


ON = ("clean", "adv")


def prepare(apply_fn: ApplyFn, params: Any, params_init: Any, x: jax.Array,
            y: jax.Array, *, key: jax.Array, attack=None) -> MeasureInputs:
  """MeasureInputs with x_adv = attack(logits at params, x, y).

  Args:
    apply_fn: (params, x) -> logits [batch, classes], pure.
    params, params_init: pytrees of one structure (one model).
    x: [batch, ...] in [0, 1]; y: int [batch].
    key: PRNG key; the attack and the measures draw from independent streams.
    attack: a jaxrobust attack (`attack(logits_fn, x, y, key=...) -> x_adv`); default
      PGD-Linf with eps 0.1, 10 steps, Madry et al.'s step.
  """
  if not callable(apply_fn):
    raise TypeError(f"apply_fn must be callable (params, x) -> logits, got {apply_fn!r}.")
  if jax.tree.structure(params) != jax.tree.structure(params_init):
    raise ValueError("params and params_init must have one pytree structure (one model); "
                     f"got {jax.tree.structure(params)} and {jax.tree.structure(params_init)}.")
  _checks.check_labels("y", y, batch=x.shape[0] if x.ndim else None)
  # NaN weights would give NaN measures (and NaN taus for a whole population) silently.
  _checks.check_finite_tree("params", params)
  _checks.check_finite_tree("params_init", params_init)
  if x.shape[0] < 1:
    raise ValueError("x must hold at least one example, got an empty batch.")
  attack = madry_pgd(eps=0.1, steps=10) if attack is None else attack
  if not hasattr(attack, "eps"):
    raise TypeError(f"attack must be a jaxrobust attack with an eps, got {attack!r}.")
  x_adv = attack(lambda z: apply_fn(params, z), x, y,
                 key=jax.random.fold_in(key, _ATTACK))
  return MeasureInputs(apply_fn=apply_fn, params=params, params_init=params_init, x=x,
                       y=y, x_adv=jax.lax.stop_gradient(x_adv),
                       eps=jnp.asarray(attack.eps, x.dtype),
                       key=jax.random.fold_in(key, _MEASURES))
