"""One train step, pure and jit-able once per run."""

from __future__ import annotations

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jaxrobust import _checks
from jaxrobust.data import augment, to_float
from jaxrobust.train._aux import with_last_aux
from jaxrobust.train.state import TrainState

Batch = tuple[jax.Array, jax.Array]  # (uint8 images [b, h, w, c], int32 labels [b])


def make_train_step(model: nn.Module, defense, tx: optax.GradientTransformation, *,
                    crop_padding: int = 0, flip: bool = False,
                    prox: Callable[[Any, jax.Array], Any] | None = None,
                    ) -> Callable[[TrainState, Batch, jax.Array], tuple[TrainState, dict]]:
  """Returns train_step(state, (images, labels), key) -> (state, metrics).

  The caller jits it (once) and derives `key` per step by fold_in(key, step),
  so a resumed run replays the same randomness. metrics are batch means, and
  `grad_norm` the global L2 norm of the batch gradient. The new model state
  (BatchNorm statistics) is that of the defense's last top-level call of
  train_logits_fn, returned by value (`_aux.with_last_aux`), never leaked.

  A defense with `perturbs_weights` (AWP) is trained at weights w + v: the step
  takes x_adv = defense.adversarial_inputs at w, v = defense.weight_perturbation
  of the loss at x_adv, and differentiates defense.loss_at at w + v (v fixed).
  `prox(params, step)`, if given, is applied after the optimizer update (a
  proximal step, e.g. Absum's; `step` is the index of the update just taken).

  Randomized models (`jaxrobust.models.randomized`) draw from the rng stream
  "noise": train_logits_fn(z) uses the step's noise key, train_logits_fn(z, key)
  and eval_logits_fn(z, key) the given one (a defense that samples several
  networks, e.g. GradDiv, passes its own keys), eval_logits_fn(z) another key
  fixed for the step. Deterministic models ignore the stream.

  A defense with `at_step(step)` (IBP, CROWN-IBP) is trained as
  defense.at_step(state.step): its schedule runs on the global step.
  """
  _checks.check_int("crop_padding", crop_padding, 0)
  perturbs_weights = getattr(defense, "perturbs_weights", False)
  scheduled = defense

  def train_step(state: TrainState, batch: Batch, key: jax.Array):
    # A scheduled defense (IBP's eps ramp) sees the global step it trains.
    defense = scheduled.at_step(state.step) if hasattr(scheduled, "at_step") else scheduled
    aug_key, defense_key, dropout_key = jax.random.split(key, 3)
    noise_key = jax.random.fold_in(dropout_key, 1)  # randomized models' "noise" stream
    images, labels = batch
    x = augment(aug_key, to_float(images), crop_padding=crop_padding, flip=flip)
    mutable = list(state.model_state) or False  # flax returns (out, state) for []

    def loss_fn(params):
      def train_logits_at(weights):
        def train_logits_fn(z, key=None):  # -> (logits [b, classes], model-state updates)
          rngs = {"dropout": dropout_key, "noise": noise_key if key is None else key}
          out = model.apply({"params": weights, **state.model_state}, z, train=True,
                            mutable=mutable, rngs=rngs)
          return out if mutable else (out, {})
        return train_logits_fn

      frozen = jax.lax.stop_gradient({"params": params, **state.model_state})
      eval_noise = jax.random.fold_in(noise_key, 1)
      eval_logits_fn = lambda z, key=None: model.apply(
          frozen, z, train=False, rngs={"noise": eval_noise if key is None else key})
      if perturbs_weights:
        x_adv = defense.adversarial_inputs(eval_logits_fn, x, labels, key=defense_key)
        shift = defense.weight_perturbation(
            lambda w: jnp.mean(defense.loss_at(
                lambda z: train_logits_at(w)(z)[0], x, x_adv, labels)[0]),
            frozen["params"])
        # The statistics of the loss at w + v are kept (those under the
        # perturbation's gradient are an inner trace's, never recorded).
        (loss, metrics), updates = with_last_aux(
            lambda logits_fn: defense.loss_at(logits_fn, x, x_adv, labels),
            train_logits_at(jax.tree.map(jnp.add, params, shift)))
      else:
        (loss, metrics), updates = with_last_aux(
            lambda logits_fn: defense(logits_fn, eval_logits_fn, x, labels, key=defense_key),
            train_logits_at(params))
      if updates is None and mutable:
        raise ValueError(
            f"{type(defense).__name__} never called train_logits_fn at its top level (only "
            f"under vmap/scan/cond/grad), so the model's {mutable} were not updated; the "
            "defense contract (jaxrobust.defenses._base.Defense) asks for a top-level call.")
      metrics = {k: jnp.mean(v) for k, v in metrics.items()}
      return jnp.mean(loss), (metrics, state.model_state if updates is None else updates)

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

