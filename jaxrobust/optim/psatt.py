"""PSATT: sharpness-aware training at the cost of the base optimizer.

Park, Kim et al. (2023) propose Periodic Sharpness-Aware Time series Training
(PSATT), which "reuses gradient information from past iterations" so that
sharpness-aware training costs no gradient evaluation beyond the base
optimizer's. Only the abstract of the paper could be found (Applied Soft
Computing 144, 110467; no preprint or public code in our search tools), so
its exact rule and period are not known to us. What is implemented here is
the closest rule the abstract documents, and it is an ASSUMPTION:

  * the iterate handed to the model is the perturbed point w_t + e_t, so the
    one gradient the train step computes, g_t = grad L(w_t + e_t), is already
    a SAM gradient (no second pass, no `grad_fn`);
  * the clean weights move with the base optimizer, w_{t+1} = w_t + base(g_t);
  * the perturbation reuses a past gradient's direction, e = rho g / ||g||,
    refreshed from the current g_t every `period` steps and kept in between.

With period = 1 this is SAM whose ascent direction lags by one step. Because
the parameters a train state holds are w + e, use `psatt_clean_params` to read
the clean weights w (for evaluation, export or a final checkpoint); their
distance is exactly rho (or 0 before the first refresh). BatchNorm statistics
come from the one (perturbed) pass.

References: Park, Kim, Choi, Lee, Lee, "Fast sharpness-aware training for
periodic time series classification and forecasting", Applied Soft Computing
144 (2023) 110467; Foret et al., ICLR 2021 (the SAM perturbation).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxrobust import _checks
from jaxrobust.optim.sam import _is_zero, check_rho, perturbation


class PSATTState(NamedTuple):
  """State of `psatt`.

  Attributes:
    count: steps taken (int32 scalar), for the refresh period.
    perturbation: e, added to the clean weights (tree like params).
    inner_state: the base optimizer's state.
  """
  count: jax.Array
  perturbation: optax.Updates
  inner_state: optax.OptState


def psatt(base: optax.GradientTransformation, rho: Any = 0.05, period: int = 1,
          ) -> optax.GradientTransformationExtraArgs:
  """Periodic sharpness-aware training around a base optimizer (see module doc).

  Args:
    base: the optimizer of the clean weights (e.g. optax.adam).
    rho: perturbation radius, >= 0; a Python 0 is the base optimizer exactly.
    period: steps between refreshes of the perturbation direction (>= 1,
      static).

  Returns:
    An optax.GradientTransformationExtraArgs with state PSATTState; extra
    arguments (e.g. grad_fn) are passed to the base optimizer, never called.

  References: Park, Kim et al., Applied Soft Computing 144 (2023) 110467.
  """
  check_rho(rho)
  _checks.check_int_at_least("period", period, 1)
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
    fresh = perturbation(updates, clean, rho)
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
