"""The train state: everything a step changes, as one pytree (checkpointed whole)."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
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


def init_state(model: nn.Module, tx: optax.GradientTransformation,
               input_shape: tuple[int, ...], key: jax.Array) -> TrainState:
  """Initialises parameters from `key` for inputs of shape [1, *input_shape]."""
  variables = model.init(key, jnp.zeros((1,) + tuple(input_shape), jnp.float32),
                         train=False)
  params = variables["params"]
  model_state = {k: v for k, v in variables.items() if k != "params"}
  return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                    model_state=model_state, opt_state=tx.init(params))


def variables(state: TrainState) -> dict[str, Any]:
  """The Flax variables dict of a state: params plus non-trained collections.

  Under PSATT the state's params are the perturbed point w + e it trains at;
  the model is the clean w (`psatt_clean_params`; other optimizers: unchanged).
  """
  return {"params": psatt_clean_params(state.params, state.opt_state), **state.model_state}
