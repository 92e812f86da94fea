"""PSATT: sharpness-aware training at the cost of the base optimizer.

Park, Kim et al. (2023) propose Periodic Sharpness-Aware Time series Training
(PSATT), which "reuses gradient information from past iterations" so that
sharpness-aware training costs no gradient evaluation beyond the base
optimizer's ("periodic" names the data, periodic time series, not a period of
SAM steps). The paper's text could not be read here; the rule implemented is
the one of the authors' own code, `DPSATMomentum` in
github.com/JinseongP/DPSAT, src/optim/minimizer.py, whose comment cites PSATT
for it ("reuse the direction w.r.t the previous weight parameters"):

  * the iterate handed to the model is the perturbed point w_t + e_t, so the
    one gradient the train step computes, g_t = grad L(w_t + e_t), is already
    a sharpness-aware gradient (no second pass, no `grad_fn`);
  * the clean weights move with the base optimizer, w_{t+1} = w_t + base(g_t);
  * the perturbation is the direction of the last clean step,
    e_{t+1} = rho (w_t - w_{t+1}) / ||w_t - w_{t+1}|| = -rho u_t / ||u_t||
    (u_t the base optimizer's update), refreshed every step; e_0 = 0 (the
    authors' first step, with no previous weights, is unperturbed).

The state holds e (the normalised previous update), which is all the rule
needs. For plain SGD (no momentum, no weight decay) u_t = -lr g_t, so e is the
normalised previous gradient; with momentum, weight decay or Adam the two
differ. The previous-gradient rule, e_{t+1} = rho g_t / ||g_t||, is kept as
the variant direction="gradient": it is the same repository's `DPSAT` class
(its differentially private optimizer, "reuse the perturbed gradients of
previous iteration"), not PSATT.

`period` > 1 (refresh the direction every `period` steps and keep it in
between) is this project's extension, not the authors': period = 1 is their
rule. Because the parameters a train state holds are w + e, use
`psatt_clean_params` to read the clean weights w (for evaluation, export or a
final checkpoint); their distance is exactly rho (or 0 while the direction is
still zero). BatchNorm statistics come from the one (perturbed) pass.

References: Park, Kim, Choi, Lee, Lee, "Fast sharpness-aware training for
periodic time series classification and forecasting", Applied Soft Computing
144 (2023) 110467; the authors' code, github.com/JinseongP/DPSAT
(src/optim/minimizer.py, DPSATMomentum); Foret et al., ICLR 2021 (the SAM
perturbation).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxrobust import _checks
from jaxrobust.optim.sam import _is_zero, check_rho, perturbation

# The directions `psatt` can reuse: the previous clean step (the authors' PSATT
# rule, the default) or the previous gradient (their DPSAT's).
DIRECTIONS = ("update", "gradient")


class PSATTState(NamedTuple):
  """State of `psatt`.

  Attributes:
    count: steps taken (int32 scalar), for the refresh period.
    perturbation: e, added to the clean weights (tree like params): rho times
      the normalised previous clean step w_{t-1} - w_t (direction="update") or
      previous gradient (direction="gradient").
    inner_state: the base optimizer's state.
  """
  count: jax.Array
  perturbation: optax.Updates
  inner_state: optax.OptState


def psatt(base: optax.GradientTransformation, rho: Any = 0.05, period: int = 1,
          direction: str = "update") -> optax.GradientTransformationExtraArgs:
  """Periodic sharpness-aware training around a base optimizer (see module doc).

  Args:
    base: the optimizer of the clean weights (e.g. optax.adam).
    rho: perturbation radius, >= 0; a Python 0 is the base optimizer exactly.
    period: steps between refreshes of the perturbation direction (>= 1,
      static); 1 is the authors' rule, larger values this project's extension.
    direction: "update" (default, the authors' PSATT): e = rho (w_{t-1} - w_t)
      / ||w_{t-1} - w_t||, the last clean step reversed; "gradient" (their
      DPSAT's rule): e = rho g_{t-1} / ||g_{t-1}||. The two agree for plain SGD.

  Returns:
    An optax.GradientTransformationExtraArgs with state PSATTState; extra
    arguments (e.g. grad_fn) are passed to the base optimizer, never called.

  References: Park, Kim et al., Applied Soft Computing 144 (2023) 110467;
  github.com/JinseongP/DPSAT, src/optim/minimizer.py.
  """
  check_rho(rho)
  _checks.check_int_at_least("period", period, 1)
  _checks.check_choice("direction", direction, DIRECTIONS)
  base = optax.with_extra_args_support(base)

  def init_fn(params):
    return PSATTState(count=jnp.zeros((), jnp.int32),
                      perturbation=jax.tree.map(jnp.zeros_like, params),
                      inner_state=base.init(params))

  def update_fn(updates, state, params=None, **extra_args):
    if params is None:
      raise ValueError("psatt needs params in update(updates, state, params).")
    extra_args.pop("grad_fn", None)  # PSATT never takes a second gradient
    old = state.perturbation
    clean = jax.tree.map(jnp.subtract, params, old)
    inner_updates, inner_state = base.update(updates, state.inner_state, clean,
                                             **extra_args)
    if _is_zero(rho):
      return inner_updates, PSATTState(state.count + 1, old, inner_state)
    refresh = state.count % period == 0
    if direction == "update":
      # w_t - w_{t+1} = -u_t: the clean step just taken, reversed.
      ascent = jax.tree.map(jnp.negative, inner_updates)
    else:
      ascent = updates
    fresh = perturbation(ascent, clean, rho)
    new = jax.tree.map(lambda f, o: jnp.where(refresh, f, o), fresh, old)
    # params + updates = clean + base step + new perturbation
    out = jax.tree.map(lambda u, n, o: (u + (n - o)).astype(u.dtype),
                       inner_updates, new, old)
    return out, PSATTState(state.count + 1, new, inner_state)

  return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def psatt_clean_params(params: optax.Params, opt_state: optax.OptState) -> optax.Params:
  """The clean weights w = params - e, finding the PSATTState inside opt_state.

  Returns params unchanged when opt_state holds no PSATTState (any other
  optimizer), so callers can apply it unconditionally.
  """
  is_state = lambda s: isinstance(s, PSATTState)
  found = [s for s in jax.tree.leaves(opt_state, is_leaf=is_state) if is_state(s)]
  if not found:
    return params
  if len(found) > 1:
    raise ValueError(f"opt_state holds {len(found)} PSATTStates; expected at most one.")
  return jax.tree.map(jnp.subtract, params, found[0].perturbation)
