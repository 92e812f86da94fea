"""One train step, pure and jit-able once per run."""

from __future__ import annotations

from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jaxrobust.data import augment, to_float
from jaxrobust.train.state import TrainState

Batch = tuple[jax.Array, jax.Array]  # (uint8 images [b, h, w, c], int32 labels [b])


def make_train_step(model: nn.Module, defense, tx: optax.GradientTransformation, *,
                    crop_padding: int = 0, flip: bool = False,
                    ) -> Callable[[TrainState, Batch, jax.Array], tuple[TrainState, dict]]:
  """Returns train_step(state, (images, labels), key) -> (state, metrics).

  The caller jits it (once) and derives `key` per step by fold_in(key, step),
  so a resumed run replays the same randomness. metrics are batch means.
  """

  def train_step(state: TrainState, batch: Batch, key: jax.Array):
    aug_key, defense_key, dropout_key = jax.random.split(key, 3)
    images, labels = batch
    x = augment(aug_key, to_float(images), crop_padding=crop_padding, flip=flip)
    mutable = list(state.model_state) or False  # flax returns (out, state) for []

    def loss_fn(params):
      recorded = {}

      def train_logits_fn(z):
        out = model.apply({"params": params, **state.model_state}, z, train=True,
                          mutable=mutable, rngs={"dropout": dropout_key})
        logits, updates = out if mutable else (out, {})
        recorded["model_state"] = updates
        return logits

      frozen = jax.lax.stop_gradient({"params": params, **state.model_state})
      eval_logits_fn = lambda z: model.apply(frozen, z, train=False)
      loss, metrics = defense(train_logits_fn, eval_logits_fn, x, labels,
                              key=defense_key)
      metrics = {k: jnp.mean(v) for k, v in metrics.items()}
      return jnp.mean(loss), (metrics, recorded.get("model_state", state.model_state))

    (loss, (metrics, model_state)), grads = jax.value_and_grad(
        loss_fn, has_aux=True)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    state = TrainState(step=state.step + 1,
                       params=optax.apply_updates(state.params, updates),
                       model_state=model_state, opt_state=opt_state)
    return state, {"loss": loss, **metrics}

  return train_step

