"""The one epoch loop: resume, metrics log, evaluation, checkpoints, divergence stop.

Every trainer (`fit`, `fit_dp`) supplies how to train one epoch and what to
evaluate after it; this loop owns the rest. The whole state is checkpointed
after every epoch (with a sha256 manifest); a run killed at any point and
restarted with the same command resumes from the newest intact checkpoint,
replays the interrupted epoch and logs every epoch once.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
from tqdm.auto import tqdm

from jaxrobust import _checks
from jaxrobust.train.checkpoint import Checkpointer
from jaxrobust.train.metrics import MetricsLog

# train_epoch(state, epoch, tick) -> (state, sums, per_step); see run_epochs.
EpochFn = Callable[[Any, int, Callable[[int], Any]], tuple[Any, dict, Sequence]]
# evaluate(state, record, history) -> fields added to the epoch's record.
EvalFn = Callable[[Any, dict, list], dict]


class TrainingDivergedError(RuntimeError):
  """A non-finite loss or gradient norm: the run stopped, its last checkpoint is finite."""


# One dispatch per step for the epoch sums (eager tree.map would be one per metric).
accumulate = jax.jit(lambda sums, metrics: jax.tree.map(jnp.add, sums, metrics))


def _stop_diverged(workdir, epoch, first_step, per_step, sums, learning_rate,
                   checkpoints) -> None:
  """Raises TrainingDivergedError; nothing of the diverged epoch is saved or logged."""
  checkpoints.wait()
  checkpoints.close()
  step = first_step + next(i for i, values in enumerate(per_step)
                           if not all(math.isfinite(float(v)) for v in values))
  bad = sorted(k for k, v in sums.items() if not math.isfinite(float(v)))
  kept = checkpoints.epochs()
  raise TrainingDivergedError(
      f"training diverged in epoch {epoch}: {', '.join(bad)} not finite from step {step} "
      f"(learning rate {learning_rate}). Nothing of epoch {epoch} was saved; "
      + (f"the newest checkpoint, epoch {kept[-1]} in {workdir}, is finite."
         if kept else "no checkpoint was written."))


def run_epochs(state: Any, train_epoch: EpochFn, evaluate: EvalFn, *, workdir: str,
               fingerprint: dict, epochs: int, steps_per_epoch: int, learning_rate: Any,
               progress: bool, checkpoint_extra: dict | None = None
               ) -> tuple[Any, list[dict]]:
  """Trains epochs 1..epochs from `state`, resuming from workdir's newest intact checkpoint.

  train_epoch(state, epoch, tick) -> (state, sums, per_step): trains epoch
    `epoch` (1-based; global steps (epoch - 1) * steps_per_epoch onwards) and
    calls tick(n) as n steps finish (the progress bar). sums: each metric
    summed over the epoch's steps (device scalars, among them "loss" and
    "grad_norm"); per_step: the (loss, grad_norm) of each step in order, e.g.
    [steps, 2], read only to name the first bad step when the epoch diverged.
  evaluate(state, record, history) -> dict: fields added to the epoch's record
    (test accuracy, ...); record holds epoch, step and the train_* means,
    history the records of the epochs before.
  The checkpoint must match `fingerprint`; checkpoint_extra travels with it.
  Returns the final state and the metrics log (one record per epoch).
  Raises TrainingDivergedError on a non-finite loss or gradient norm.
  """
  _checks.check_int("epochs", epochs, 0)
  _checks.check_int("steps_per_epoch", steps_per_epoch, 1)
  os.makedirs(workdir, exist_ok=True)
  checkpoints = Checkpointer(workdir, fingerprint)
  log = MetricsLog(workdir)
  start = checkpoints.newest_intact_epoch(report=tqdm.write) or 0
  if start:
    state, _ = checkpoints.restore(start, state)
  log.truncate(start)

  for epoch in range(start + 1, epochs + 1):
    tic = time.perf_counter()
    with tqdm(total=steps_per_epoch, desc=f"epoch {epoch}/{epochs}", disable=not progress,
              leave=False) as bar:
      state, sums, per_step = train_epoch(state, epoch, bar.update)
    if not all(math.isfinite(float(sums[k])) for k in ("loss", "grad_norm")):
      _stop_diverged(workdir, epoch, (epoch - 1) * steps_per_epoch, per_step, sums,
                     learning_rate, checkpoints)
    record = {"epoch": epoch, "step": int(state.step)}
    record.update({f"train_{k}": float(v) / steps_per_epoch for k, v in sums.items()})
    record["train_time_s"] = time.perf_counter() - tic
    record.update(evaluate(state, record, log.records()))
    # Log first: a kill between the two replays this epoch and rewrites its line.
    log.write(record)
    checkpoints.save(epoch, state, extra=checkpoint_extra)
    if progress:
      tqdm.write(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in record.items()))
  checkpoints.wait()
  checkpoints.close()
  return state, log.records()
