"""Orbax checkpoints of the whole train state, tagged with what produced them.

Each checkpoint holds the `TrainState` and a JSON `meta` record with the epoch
and a fingerprint of the model and data. Restoring into a run whose
fingerprint differs raises instead of loading foreign weights.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import orbax.checkpoint as ocp


class CheckpointMismatchError(ValueError):
  """The workdir holds checkpoints of a different model or dataset."""


class Checkpointer:
  """Saves and restores (state, meta) by epoch under `<workdir>/checkpoints`.

  Orbax writes into a temporary directory and renames it when complete, so a
  run killed while saving leaves the previous checkpoint intact.
  """

  def __init__(self, workdir: str, fingerprint: dict[str, Any], max_to_keep: int = 2):
    self.fingerprint = fingerprint
    self._manager = ocp.CheckpointManager(
        os.path.join(os.path.abspath(workdir), "checkpoints"),
        # Synchronous: the train step donates the state's buffers right after a
        # save, and on CPU a background writer could read donated memory.
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                             enable_async_checkpointing=False))

  def latest_epoch(self) -> int | None:
    return self._manager.latest_step()

  def epochs(self) -> list[int]:
    """Epochs of the complete checkpoints kept, ascending."""
    return sorted(self._manager.all_steps())

  def save(self, epoch: int, state: Any, extra: dict[str, Any] | None = None) -> None:
    meta = {"epoch": epoch, "fingerprint": self.fingerprint, **(extra or {})}
    self._manager.save(epoch, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)))

  def restore_meta(self, epoch: int) -> dict[str, Any]:
    return self._manager.restore(
        epoch, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]

  def restore(self, epoch: int, like: Any) -> tuple[Any, dict[str, Any]]:
    """Restores the state saved at `epoch` into the structure/shardings of `like`."""
    meta = self.restore_meta(epoch)
    if meta.get("fingerprint") != self.fingerprint:
      raise CheckpointMismatchError(
          f"The workdir {self._manager.directory} holds a checkpoint (epoch "
          f"{epoch}) of {meta.get('fingerprint')}, but this run is "
          f"{self.fingerprint}. Use a new --workdir, or the original config.")
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
    restored = self._manager.restore(
        epoch, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract)))
    return restored["state"], meta

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.close()
