"""The in-memory trainer: data arrays on the device, one `lax.scan` per epoch, on `run_epochs`.

For the small-model families (detectors, pretext tasks, domain adaptation,
speech models, GANs): the whole training set sits on the device, an epoch is
one jitted `lax.scan` over its batches (the step gathers its rows from the
arrays; only the [steps, batch] indices travel), and `run_epochs` owns resume,
checkpoints, metrics and the divergence stop. Every random choice is a
function of (key, epoch, step), so a run killed and restarted on its workdir
ends in the same state as one run straight through.
"""

from __future__ import annotations

import contextlib
import tempfile
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrobust import _checks
from jaxrobust.data.batching import epoch_permutation
from jaxrobust.train.driver import EvalFn, accumulate, run_epochs

# step(state, batch, key) -> (state, metrics with scalar "loss" and "grad_norm").
StepFn = Callable[[Any, Any, jax.Array], tuple[Any, dict]]
# loss(params, batch, key) -> scalar, or (scalar, metrics dict) with has_aux.
LossFn = Callable[[Any, Any, jax.Array], Any]


def loss_step(loss: LossFn, tx: optax.GradientTransformation, *,
              has_aux: bool = False) -> StepFn:
  """A `fit_arrays` step for a `TrainState`: one step of tx on loss(params, batch, key).

  The metrics are {"loss", "grad_norm", **aux} (aux: the loss's metrics with has_aux).
  """
  if not callable(loss):
    raise TypeError(f"loss must be callable (params, batch, key) -> scalar, got {loss!r}.")
  grad_fn = jax.value_and_grad(loss, has_aux=has_aux)

  def step(state, batch, key):
    value, grads = grad_fn(state.params, batch, key)
    value, aux = value if has_aux else (value, {})
    return state.apply_gradients(grads, tx), {"loss": value, "grad_norm": optax.tree.norm(grads),
                                              **aux}
  return step


def _gather(data: Any, idx: Any) -> Any:
  """The batch: each array of data indexed by its part of idx (idx's tree a prefix of data's)."""
  return jax.tree.map(lambda i, part: jax.tree.map(lambda a: a[i], part), idx, data)


def _order(key: jax.Array, n: int, batch_size: int) -> Callable[[int], np.ndarray]:
  steps = n // batch_size
  return lambda epoch: epoch_permutation(key, epoch, n)[:steps * batch_size].reshape(
      steps, batch_size)


def _check_args(step, state, batch_size, indices, epochs, workdir, fingerprint) -> None:
  if not callable(step):
    raise TypeError(f"step must be a function step(state, batch, key) -> (state, metrics), "
                    f"got {type(step).__name__}.")
  if not hasattr(state, "step"):
    raise TypeError(f"state must carry a step counter (`state.step`, as TrainState and "
                    f"GANState do), got {type(state).__name__}.")
  if (batch_size is None) == (indices is None):
    raise ValueError("give exactly one of batch_size (shuffled epochs) and indices (your own "
                     f"epoch orders), got batch_size={batch_size!r} and indices={indices!r}.")
  if indices is not None and not callable(indices):
    raise TypeError(f"indices must be a function indices(epoch) -> index arrays [steps, "
                    f"batch], got {type(indices).__name__}.")
  _checks.check_int_at_least("epochs", epochs, 0)
  if workdir is not None and not isinstance(workdir, str):
    raise TypeError(f"workdir must be a folder path (str) or None, got {workdir!r}.")
  if not isinstance(fingerprint, dict):
    raise TypeError(f"fingerprint must be a dict of JSON values, got "
                    f"{type(fingerprint).__name__}.")


def fit_arrays(step: StepFn, state: Any, data: Any, *, key: jax.Array, epochs: int,
               batch_size: int | None, workdir: str | None, fingerprint: dict,
               step_key: jax.Array | None = None,
               indices: Callable[[int], Any] | None = None,
               evaluate: EvalFn | None = None, learning_rate: Any = None,
               progress: bool = False, checkpoint_extra: dict | None = None,
               scan: bool = True) -> tuple[Any, list[dict]]:
  """Trains epochs 1..epochs of `step` over in-memory `data`, resumably (`run_epochs`).

  Args:
    step: step(state, batch, key) -> (state, metrics): one update that advances
      state.step; metrics are scalars among them "loss" and "grad_norm" (what the
      driver watches for divergence). `loss_step(loss, tx)` builds one from a loss;
      TrainState.apply_gradients is the update.
    state: the state at the start (a TrainState, a GANState: any pytree with a
      `step` counter); a checkpoint in workdir replaces it.
    data: a pytree of arrays [N, ...] (put on the device once), e.g. (images,
      labels) or {"x": x, "cond": labels}; a batch is the same pytree of rows.
    key: epoch e's order is `data.epoch_permutation(key, e, N)` (fold_in(key, e)),
      the last short batch dropped.
    epochs: epochs to have trained at the end (0: the state as given).
    batch_size: examples a step; None with `indices`.
    workdir: checkpoints and metrics.jsonl; a rerun resumes from its newest intact
      epoch. None: a temporary folder, deleted afterwards (no resuming).
    fingerprint: what a checkpoint in workdir must match (JSON values).
    step_key: step s gets the key fold_in(step_key, s), s the state's global step
      (default step_key: fold_in(key, 0), never an epoch's, as epochs count from 1).
    indices: instead of batch_size, indices(epoch) -> int [steps, batch] rows of
      data, or a pytree of them that is a prefix of data's (one order per part,
      e.g. (source, target) for ((xs, ys), xt)); a function of the epoch alone.
    evaluate: evaluate(state, record, history) -> fields added to each epoch's record.
    learning_rate: named in the divergence error.
    progress: a progress bar and one line per epoch.
    checkpoint_extra: saved with each checkpoint.
    scan: one `lax.scan` per epoch; False: one jitted call per step (the state
      donated), for models whose gradients XLA compiles slowly inside a loop (on
      XLA:CPU a convolution's weight gradient in a while loop can run ~20x slower).
  Returns:
    (final state, the metrics log: one record per epoch with train_<metric> means).
  Raises:
    ValueError / TypeError: bad arguments; train.TrainingDivergedError: a
    non-finite loss or gradient norm (nothing of that epoch is saved).
  """
  _check_args(step, state, batch_size, indices, epochs, workdir, fingerprint)
  if indices is None:
    n = _checks.leading_size("data", data)
    _checks.check_int_at_least("batch_size", batch_size, 1)
    if batch_size > n:
      raise ValueError(f"batch_size={batch_size} exceeds the {n} examples.")
    indices = _order(key, n, batch_size)
  steps = len(jax.tree.leaves(indices(1))[0])
  if steps < 1:
    raise ValueError("indices(epoch) gave no steps: each epoch needs at least one batch.")
  data = jax.tree.map(jnp.asarray, data)
  step_key = jax.random.fold_in(key, 0) if step_key is None else step_key

  def keyed_step(state, step_key, data, idx):
    return step(state, _gather(data, idx), jax.random.fold_in(step_key, state.step))

  @jax.jit
  def scan_epoch(state, step_key, data, order):
    state, metrics = jax.lax.scan(lambda s, idx: keyed_step(s, step_key, data, idx),
                                  state, order)
    sums = jax.tree.map(lambda m: jnp.sum(m, axis=0), metrics)
    return state, sums, jnp.stack([metrics["loss"], metrics["grad_norm"]], axis=1)

  one_step = jax.jit(keyed_step, donate_argnums=0)

  def train_epoch(state, epoch, tick):
    order = indices(epoch)
    if scan:
      state, sums, per_step = scan_epoch(state, step_key, data, order)
      tick(steps)
      return state, sums, np.asarray(per_step)
    sums, per_step = None, []
    for i in range(steps):
      state, metrics = one_step(state, step_key, data, jax.tree.map(lambda o: o[i], order))
      sums = metrics if sums is None else accumulate(sums, metrics)
      per_step.append((metrics["loss"], metrics["grad_norm"]))  # device values: no sync
      tick(1)
    return state, sums, per_step

  if not scan:  # the first step donates its input: keep the caller's state intact
    state = jax.tree.map(jnp.copy, state)
  with (tempfile.TemporaryDirectory() if workdir is None
        else contextlib.nullcontext(workdir)) as folder:
    return run_epochs(state, train_epoch, evaluate or (lambda *_: {}), workdir=folder,
                      fingerprint=fingerprint, epochs=epochs, steps_per_epoch=steps,
                      learning_rate=learning_rate, progress=progress,
                      checkpoint_extra=checkpoint_extra)
