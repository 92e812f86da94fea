"""DP adversarial training: each example's clipped gradient at its own adversarial point.

`attack_preprocess(attack, apply_fn)` is a `preprocess` for
`clipped_grad_sum`: it runs per example (vmapped over examples, each with its
own key), attacks the model with its parameters held fixed, and returns the
adversarial example, so the per-example loss is (attack, then loss) and the
clipped gradient of example i is taken at x_i's own adversarial point
(Danskin's theorem, as in PGD-AT). The attack reads only the example it
perturbs, so the sensitivity (one example changes one clipped term) and hence
the privacy accounting are unchanged.

References:
  Madry et al., "Towards Deep Learning Models Resistant to Adversarial
  Attacks", ICLR 2018.
  Abadi et al., "Deep Learning with Differential Privacy", CCS 2016.
"""

from __future__ import annotations

from typing import Any, Callable

import jax


def attack_preprocess(attack: Any, apply_fn: Callable[[Any, jax.Array], jax.Array]
                      ) -> Callable:
  """preprocess(params, (x [1, ...], y [1]), key) -> (x_adv, y).

  Args:
    attack: an attack object called as attack(logits_fn, x, y, key=key)
      (e.g. `jaxrobust.attacks.pgd.PGD`).
    apply_fn: (params, x) -> logits, the model in evaluation mode.
  """
  for name, fn in (("attack", attack), ("apply_fn", apply_fn)):
    if not callable(fn):
      raise TypeError(f"{name} must be callable (an attack object / (params, x) -> logits), "
                      f"got {fn!r}.")
  def preprocess(params, example, key):
    x, y = example
    frozen = jax.lax.stop_gradient(params)
    x_adv = attack(lambda z: apply_fn(frozen, z), x, y, key=key)
    return (x_adv, y)

  return preprocess
