"""MP-SSL training: several pretext tasks at once on a shared encoder, weighted uniformly
or by the min-norm (Frank-Wolfe) solver, on the library's epoch loop.

Every step draws a label for each task, mixes the tasks' transforms into one
view per image (`pretext.make_views`), and computes each task's
cross-entropy. The K task gradients of the shared (encoder) parameters are
combined as sum_t alpha_t g_t with
  "uniform":     alpha = 1/K (one backward pass);
  "min_norm":    alpha the min-norm point of the convex hull of the K task
                 gradients of the shared (encoder) parameters, taken exactly
                 (one backward pass per task, `vmap` of one VJP): MGDA;
  "min_norm_ub": alpha from the task gradients with respect to the shared
                 representation z [batch, d] instead (Sener & Koltun's MGDA-UB,
                 an upper bound; one backward pass through the encoder).
Each head gets its own task's gradient, unweighted, as in Sener & Koltun. The
epochs run on the in-memory trainer (`train.fit_arrays`: one `lax.scan` an epoch).

References: Yamaguchi, Kanai, Shioda & Takeda, "Multiple Pretext-Task for
Self-Supervised Learning via Mixing Multiple Image Transformations"
(arXiv:1912.11603v1; v2: "Image Enhanced Rotation Prediction for
Self-Supervised Learning", ICIP 2021); Sener & Koltun, NeurIPS 2018.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrobust import _checks, data
from jaxrobust.data.info import DatasetInfo
from jaxrobust.selfsup.min_norm import min_norm_from_gradients
from jaxrobust.selfsup.network import MultiTaskNet, build_encoder
from jaxrobust.selfsup.pretext import PRETEXT_TASKS, make_views
from jaxrobust.train.arrays import fit_arrays
from jaxrobust.train.state import TrainState

WEIGHTINGS = ("uniform", "min_norm", "min_norm_ub")


class PretextResult(NamedTuple):
  """module: the MultiTaskNet; tasks: {name: task}; history: one record per epoch
  (train_loss: the sum of the task losses; train_loss_<task>, train_alpha_<task>)."""
  module: nn.Module
  state: TrainState
  tasks: dict
  history: list


def combine(grads: Any, alpha: jax.Array) -> Any:
  """Per-task gradients (every leaf [K, ...]) -> one update: shared ("encoder")
  leaves weighted by alpha, head leaves summed (head t only has task t's)."""
  if not isinstance(grads, Mapping) or "encoder" not in grads:
    keys = list(grads) if isinstance(grads, Mapping) else ""
    raise ValueError(f"grads must be a dict of per-task gradients with an 'encoder' entry, "
                     f"got {type(grads).__name__} {keys}.")
  k = {np.shape(g)[0] if np.ndim(g) else None for g in jax.tree.leaves(grads)}
  if np.ndim(alpha) != 1 or k != {np.shape(alpha)[0]}:
    raise ValueError(f"alpha must be [K], one weight per task, with every gradient leaf "
                     f"[K, ...]; got alpha {np.shape(alpha)} and leading sizes "
                     f"{sorted(map(str, k))}.")
  _checks.check_array_range("alpha", alpha, low=0.0)
  return {name: jax.tree.map((lambda g: jnp.tensordot(alpha, g, 1)) if name == "encoder"
                             else (lambda g: g.sum(0)), sub)
          for name, sub in grads.items()}


def shared_min_norm_weights(shared_grads: Any, k: int, iterations: int) -> jax.Array:
  """Min-norm alpha [K] of the shared parameters' per-task gradients (leaves [K, ...])."""
  flat = jnp.concatenate([g.reshape(k, -1) for g in jax.tree.leaves(shared_grads)], axis=1)
  return jax.lax.stop_gradient(min_norm_from_gradients(flat, iterations=iterations))


def fit_pretext(images: np.ndarray, info: DatasetInfo, *, tasks: Sequence[Any],
                encoder: Mapping[str, Any], feature_dim: int, weighting: str, workdir: str,
                epochs: int, batch_size: int, learning_rate: float = 1e-3,
                weight_decay: float = 0.0, seed: int = 0, min_norm_iterations: int = 250,
                progress: bool = False) -> PretextResult:
  """Trains the encoder on the pretext tasks (names or sections, see
  `PRETEXT_TASKS.make_all`) over unlabeled images [n, h, w, c]; resumable in workdir.
  epochs = 0 returns the random initialization (the "random encoder" baseline)."""
  if weighting not in WEIGHTINGS:
    raise ValueError(f"Unknown weighting {weighting!r}; valid choices: {WEIGHTINGS}.")
  _checks.check_int_at_least("epochs", epochs, 0)
  _checks.check_int_at_least("feature_dim", feature_dim, 1)
  _checks.check_optimizer(learning_rate, weight_decay)
  _checks.check_int("batch_size", batch_size, 1)
  _checks.check_int("seed", seed, 0)
  _checks.check_int("min_norm_iterations", min_norm_iterations, 1)
  _checks.check_image_batch("images", images)
  built = PRETEXT_TASKS.make_all(tasks)
  k = len(built)
  module = MultiTaskNet(build_encoder(encoder, feature_dim, info),
                        tuple(t.num_classes for t in built.values()))
  x_all = data.to_float(images)
  steps = data.num_batches(len(x_all), batch_size)
  if steps == 0:
    raise ValueError(f"batch_size={batch_size} exceeds the {len(x_all)} training images.")
  key = jax.random.key(seed)
  variables = module.init(jax.random.fold_in(key, 0), x_all[:1], train=False)
  params = variables["params"]
  model_state = {c: v for c, v in variables.items() if c != "params"}
  tx = optax.adamw(learning_rate, weight_decay=weight_decay)
  state = TrainState.create(params, tx, model_state)

  def features(params, model_state, x):
    v = {"params": params, **model_state}
    if model_state:
      return module.apply(v, x, train=True, method=MultiTaskNet.features,
                          mutable=list(model_state))
    return module.apply(v, x, train=True, method=MultiTaskNet.features), model_state

  def head_losses(params, z, labels):
    logits = module.apply({"params": params}, z, method=MultiTaskNet.classify)
    return jnp.stack([optax.softmax_cross_entropy_with_integer_labels(l, y).mean()
                      for l, y in zip(logits, labels)])

  def exact_step(state, views, labels):
    """Per-task gradients of every parameter (K backward passes), min-norm on the encoder's."""
    def task_losses(p):
      z, new_state = features(p, state.model_state, views)
      return head_losses(p, z, labels), new_state
    losses, vjp, new_state = jax.vjp(task_losses, state.params, has_aux=True)
    (grads,) = jax.vmap(vjp)(jnp.eye(k, dtype=losses.dtype))  # leaves [K, ...]
    alpha = shared_min_norm_weights(grads["encoder"], k, min_norm_iterations)
    return combine(grads, alpha), losses, alpha, new_state

  def one_pass_step(state, views, labels):
    """One backward pass of sum_t alpha_t L_t through the encoder and sum_t L_t through the
    heads; alpha uniform or, for min_norm_ub, the min-norm weights of the task
    gradients with respect to the features (MGDA-UB)."""
    def total(p):
      z, new_state = features(p, state.model_state, views)
      frozen_p, frozen_z = jax.lax.stop_gradient(p), jax.lax.stop_gradient(z)
      if weighting == "min_norm_ub":
        gz = jax.jacrev(lambda z: head_losses(frozen_p, z, labels))(frozen_z)  # [K, B, d]
        alpha = jax.lax.stop_gradient(min_norm_from_gradients(
            gz.reshape(k, -1), iterations=min_norm_iterations))
      else:
        alpha = jnp.full((k,), 1.0 / k)
      to_encoder = head_losses(frozen_p, z, labels)  # the heads held fixed
      to_heads = head_losses(p, frozen_z, labels)    # the features held fixed
      return alpha @ to_encoder + to_heads.sum(), (to_heads, alpha, new_state)
    grads, (losses, alpha, new_state) = jax.grad(total, has_aux=True)(state.params)
    return grads, losses, alpha, new_state

  names = list(built)

  def step(state, x, key):
    views, labels = make_views(built, x, key)
    update, losses, alpha, new_model_state = (
        exact_step if weighting == "min_norm" else one_pass_step)(state, views, labels)
    metrics = {"loss": losses.sum(), "grad_norm": optax.tree.norm(update)}
    metrics.update({f"loss_{n}": losses[i] for i, n in enumerate(names)})
    metrics.update({f"alpha_{n}": alpha[i] for i, n in enumerate(names)})
    return state.apply_gradients(update, tx, model_state=new_model_state), metrics

  fingerprint = json.loads(json.dumps({
      "tasks": [[n, list(t.levels)] for n, t in built.items()], "encoder": dict(encoder),
      "feature_dim": feature_dim, "weighting": weighting, "seed": seed,
      "batch_size": batch_size, "learning_rate": learning_rate, "images": len(x_all)}))
  # Views from fold_in(fold_in(key, 2), step), epoch orders from fold_in(key, 1).
  state, history = fit_arrays(step, state, x_all, key=jax.random.fold_in(key, 1),
                              step_key=jax.random.fold_in(key, 2), epochs=epochs,
                              batch_size=batch_size, workdir=workdir, fingerprint=fingerprint,
                              learning_rate=learning_rate, progress=progress)
  return PretextResult(module, state, built, history)


def encode(result: PretextResult, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
  """The frozen encoder's features [n, d] of images [n, h, w, c] (evaluation mode)."""
  _checks.check_image_batch("images", images)
  _checks.check_int("batch_size", batch_size, 1)
  v = {"params": result.state.params, **result.state.model_state}
  features = jax.jit(lambda v, x: result.module.apply(v, x, train=False)[0])
  return np.concatenate([np.asarray(features(v, data.to_float(x))) for x, _ in
                         data.sequential_batches(images, np.zeros(len(images)), batch_size)])
