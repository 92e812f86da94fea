"""One train step, pure and jit-able once per run."""

from __future__ import annotations

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jaxrobust.data import augment, to_float
from jaxrobust.train.state import TrainState

Batch = tuple[jax.Array, jax.Array]  # (uint8 images [b, h, w, c], int32 labels [b])


def make_train_step(model: nn.Module, defense, tx: optax.GradientTransformation, *,
                    crop_padding: int = 0, flip: bool = False,
                    prox: Callable[[Any, jax.Array], Any] | None = None,
                    ) -> Callable[[TrainState, Batch, jax.Array], tuple[TrainState, dict]]:
  """Returns train_step(state, (images, labels), key) -> (state, metrics).

  The caller jits it (once) and derives `key` per step by fold_in(key, step),
  so a resumed run replays the same randomness. metrics are batch means, and
  `grad_norm` the global L2 norm of the batch gradient.

  A defense with `perturbs_weights` (AWP) is trained at weights w + v: the step
  takes x_adv = defense.adversarial_inputs at w, v = defense.weight_perturbation
  of the loss at x_adv, and differentiates defense.loss_at at w + v (v fixed).
  `prox(params, step)`, if given, is applied after the optimizer update (a
  proximal step, e.g. Absum's; `step` is the index of the update just taken).
  """
  perturbs_weights = getattr(defense, "perturbs_weights", False)

  def train_step(state: TrainState, batch: Batch, key: jax.Array):
    aug_key, defense_key, dropout_key = jax.random.split(key, 3)
    images, labels = batch
    x = augment(aug_key, to_float(images), crop_padding=crop_padding, flip=flip)
    mutable = list(state.model_state) or False  # flax returns (out, state) for []

    def loss_fn(params):
      recorded = {}

      def train_logits_at(weights):
        def train_logits_fn(z):
          out = model.apply({"params": weights, **state.model_state}, z, train=True,
                            mutable=mutable, rngs={"dropout": dropout_key})
          logits, updates = out if mutable else (out, {})
          recorded["model_state"] = updates
          return logits
        return train_logits_fn

      frozen = jax.lax.stop_gradient({"params": params, **state.model_state})
      eval_logits_fn = lambda z: model.apply(frozen, z, train=False)
      if perturbs_weights:
        x_adv = defense.adversarial_inputs(eval_logits_fn, x, labels, key=defense_key)
        shift = defense.weight_perturbation(
            lambda w: jnp.mean(defense.loss_at(train_logits_at(w), x, x_adv, labels)[0]),
            frozen["params"])
        # Called last at the top level, so its BatchNorm statistics are kept.
        loss, metrics = defense.loss_at(
            train_logits_at(jax.tree.map(jnp.add, params, shift)), x, x_adv, labels)
      else:
        loss, metrics = defense(train_logits_at(params), eval_logits_fn, x, labels,
                                key=defense_key)
      metrics = {k: jnp.mean(v) for k, v in metrics.items()}
      return jnp.mean(loss), (metrics, recorded.get("model_state", state.model_state))

    (loss, (metrics, model_state)), grads = jax.value_and_grad(
        loss_fn, has_aux=True)(state.params)
    # Sharpness-aware transforms (jaxrobust.optim.sam) call grad_fn for a second
    # gradient of the same batch loss and key; its model state (BatchNorm
    # statistics) is discarded, so the unperturbed pass's is kept. The `*_`
    # also accepts optax.contrib.sam's (params, i); plain optax transforms
    # ignore the extra argument.
    grad_fn = lambda p, *_: jax.grad(loss_fn, has_aux=True)(p)[0]
    updates, opt_state = optax.with_extra_args_support(tx).update(
        grads, state.opt_state, state.params, grad_fn=grad_fn)
    params = optax.apply_updates(state.params, updates)
    if prox is not None:
      params = prox(params, state.step)
    state = TrainState(step=state.step + 1, params=params,
                       model_state=model_state, opt_state=opt_state)
    # The loop stops the run on a non-finite loss or gradient norm (divergence).
    return state, {"loss": loss, "grad_norm": optax.tree.norm(grads), **metrics}

  return train_step

