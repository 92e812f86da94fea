"""The train state: everything a step changes, as one pytree (checkpointed whole)."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from jaxrobust.optim.psatt import psatt_clean_params


@struct.dataclass
class TrainState:
  """step: scalar int32; params; model_state: non-trained collections
  (e.g. {"batch_stats": ...}, {} without BatchNorm); opt_state of the optax optimizer."""
  step: jax.Array
  params: Any
  model_state: Any
  opt_state: Any

  @classmethod
  def create(cls, params: Any, tx: optax.GradientTransformation,
             model_state: Any = None) -> "TrainState":
    """The state at step 0: params, tx's initial state, model_state (default {})."""
    return cls(step=jnp.zeros((), jnp.int32), params=params,
               model_state={} if model_state is None else model_state,
               opt_state=tx.init(params))

  def apply_gradients(self, grads: Any, tx: optax.GradientTransformation,
                      **changes) -> "TrainState":
    """The state one step of tx later (step + 1); changes: other fields to replace
    (e.g. model_state=new BatchNorm statistics). tx is not part of the state (as in
    `make_train_step`), so the caller passes the one it was created with."""
    params, opt_state = optax_update(tx, grads, self.opt_state, self.params)
    return self.replace(step=self.step + 1, params=params, opt_state=opt_state, **changes)


def optax_update(tx: optax.GradientTransformation, grads: Any, opt_state: Any, params: Any,
                 **extra_args) -> tuple[Any, Any]:
  """(params, opt_state) after one step of tx on grads: the library's one optimizer update.
  extra_args go to tx.update (e.g. grad_fn for the SAM transforms)."""
  updates, opt_state = tx.update(grads, opt_state, params, **extra_args)
  return optax.apply_updates(params, updates), opt_state


def init_state(model: nn.Module, tx: optax.GradientTransformation,
               input_shape: tuple[int, ...], key: jax.Array) -> TrainState:
  """Initialises parameters from `key` for inputs of shape [1, *input_shape]."""
  if any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1
         for d in tuple(input_shape)):
    raise ValueError(f"input_shape must be one example's shape, positive integers, got "
                     f"{tuple(input_shape)!r}.")
  variables = model.init(key, jnp.zeros((1,) + tuple(input_shape), jnp.float32),
                         train=False)
  return TrainState.create(variables["params"], tx,
                           {k: v for k, v in variables.items() if k != "params"})


def variables(state: TrainState) -> dict[str, Any]:
  """The Flax variables dict of a state: params plus non-trained collections.

  Under PSATT the state's params are the perturbed point w + e it trains at;
  the model is the clean w (`psatt_clean_params`; other optimizers: unchanged).
  """
  return {"params": psatt_clean_params(state.params, state.opt_state), **state.model_state}
