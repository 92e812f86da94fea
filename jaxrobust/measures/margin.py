"""Margin-based measures: output margins (clean and adversarial) and the input-space
margin, the size of the minimal adversarial perturbation.

References: Jiang et al., "Fantastic Generalization Measures and Where to Find Them",
ICLR 2020 (10th-percentile output margin, 1/gamma^2); Kim et al., "Fantastic
Robustness Measures", NeurIPS 2023 (the same on adversarial examples); Croce & Hein,
ICML 2020 (FAB, the minimal-perturbation attack used for the input margin).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrobust import _checks
from jaxrobust.attacks import FAB
from jaxrobust.losses import cw_margin
from jaxrobust.measures.inputs import ON, MeasureInputs


def output_margins(logits: jax.Array, y: jax.Array) -> jax.Array:
  """f_y - max_{j != y} f_j per example, [batch] (negative iff misclassified)."""
  return -cw_margin(logits, y)


def percentile_margin(logits: jax.Array, y: jax.Array, percentile: float = 10.0) -> jax.Array:
  """The `percentile`-th percentile of the output margins (numpy's linear
  interpolation, so a true percentile at any batch size; the prototype's 25th..90th
  "percentiles", kthvalue(m // 25) ..., were not); percentile in [0, 100]."""
  _checks.check_number("percentile", percentile, low=0, high=100)
  return jnp.percentile(output_margins(logits, y), percentile)


def margin(percentile: float = 10.0):
  """Family "margin": margin_{on} = |percentile-th percentile of f_y - max_{j!=y} f_j|
  and inverse_margin_{on} = 1 / margin^2, for on in (clean, adv).

  The absolute value follows the lab's prototype (DPSAT src/nn/measures), which keeps
  the measure defined when more than `percentile` % of the batch is misclassified.
  """
  _checks.check_real("percentile", percentile, low=0, high=100)

  def family(inputs: MeasureInputs) -> dict[str, jax.Array]:
    out = {}
    for on in ON:
      gamma = jnp.abs(percentile_margin(inputs.logits_fn()(inputs.inputs(on)), inputs.y,
                                        percentile))
      out[f"margin_{on}"] = gamma
      out[f"inverse_margin_{on}"] = 1.0 / jnp.maximum(gamma, 1e-12) ** 2
    return out

  return family


def input_margin(norm: str = "linf", steps: int = 20, cap: float | None = None):
  """Family "input_margin": the mean size of the minimal adversarial perturbation
  (FAB's `minimal`, in `norm`) over the batch: input_margin (the mean) and
  input_margin_p10 (its 10th percentile). Misclassified points count 0; points FAB
  could not break count `cap` (default: the box's diameter in `norm`); cap > 0.
  """
  if cap is not None:
    _checks.check_real("cap", cap, low=0, low_open=True)
  fab = FAB(norm=norm, steps=steps)

  def family(inputs: MeasureInputs) -> dict[str, jax.Array]:
    x = inputs.x
    d = x[0].size
    diameter = {"linf": 1.0, "l2": float(d) ** 0.5, "l1": float(d)}[norm]
    limit = diameter if cap is None else cap
    _, distance = fab.minimal(inputs.logits_fn(), x, inputs.y)
    distance = jnp.minimum(jnp.where(jnp.isfinite(distance), distance, limit), limit)
    return {"input_margin": jnp.mean(distance),
            "input_margin_p10": jnp.percentile(distance, 10.0)}

  return family
