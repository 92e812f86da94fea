"""Orbax checkpoints of the whole train state, tagged with what produced them.

Each checkpoint holds the `TrainState` and a JSON `meta` record with the epoch
and a fingerprint of the model and data. Restoring into a run whose
fingerprint differs raises instead of loading foreign weights.

Integrity: orbax makes a save atomic (a temporary directory renamed when
complete) but does not verify what it reads back, so a checkpoint damaged on
disk later restores garbage. Each save therefore writes `sha256.json` into its
checkpoint directory: the SHA-256 of every file orbax wrote. `verify` checks
it; resuming uses the newest checkpoint that verifies and moves damaged ones to
`<workdir>/damaged_checkpoints/`. A checkpoint without the manifest (a kill
between orbax's rename and the manifest, or an older jaxrobust) is complete by
orbax's rename and is used unverified, with a warning.

Devices: orbax stores every array whole (by index), not by device, so a
checkpoint written on 8 devices restores on 1 and the reverse. `restore`
places each leaf with the sharding of `like` (a live state's arrays keep
theirs), or with the `sharding` given; abstract leaves default to replicated
over every device. In a multi-host run every process saves and restores
together (orbax coordinates them); process 0 writes the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from typing import Any, Callable

import jax
import orbax.checkpoint as ocp
from jax.sharding import NamedSharding, PartitionSpec as P

from jaxrobust import _checks
from jaxrobust.sharding import data_mesh

MANIFEST = "sha256.json"


class CheckpointMismatchError(ValueError):
  """The workdir holds checkpoints of a different model or dataset."""


class CheckpointDamagedError(ValueError):
  """A checkpoint's files do not match the checksums written with it."""


def _digest(path: str) -> str:
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      h.update(block)
  return h.hexdigest()


def _files(directory: str) -> list[str]:
  """Paths of the files under directory, relative to it, sorted; the manifest excluded."""
  out = []
  for root, _, names in os.walk(directory):
    for name in names:
      rel = os.path.relpath(os.path.join(root, name), directory)
      if rel != MANIFEST:
        out.append(rel)
  return sorted(out)


class Checkpointer:
  """Saves and restores (state, meta) by epoch under `<workdir>/checkpoints`.

  Orbax writes into a temporary directory and renames it when complete, so a
  run killed while saving leaves the previous checkpoint intact.
  """

  def __init__(self, workdir: str, fingerprint: dict[str, Any], max_to_keep: int = 2):
    _checks.check_int("max_to_keep", max_to_keep, 1)
    self.fingerprint = fingerprint
    self._intact: set[int] = set()  # epochs verified intact (restore after resume hashes once)
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

  def directory(self, epoch: int) -> str:
    return os.path.join(str(self._manager.directory), str(epoch))

  def save(self, epoch: int, state: Any, extra: dict[str, Any] | None = None) -> None:
    """Saves (synchronously), then writes the checkpoint's checksum manifest."""
    meta = {"epoch": epoch, "fingerprint": self.fingerprint, **(extra or {})}
    self._manager.save(epoch, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)))
    self._manager.wait_until_finished()
    if jax.process_index() == 0:  # one writer; every process sees one file system
      directory = self.directory(epoch)
      manifest = {rel: _digest(os.path.join(directory, rel)) for rel in _files(directory)}
      tmp = os.path.join(directory, MANIFEST + ".tmp")
      with open(tmp, "w") as f:
        json.dump(manifest, f, indent=0)
      os.replace(tmp, os.path.join(directory, MANIFEST))
    if jax.process_count() > 1:
      from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
      multihost_utils.sync_global_devices(f"jaxrobust manifest {epoch}")

  def verify(self, epoch: int) -> list[str] | None:
    """The problems of the checkpoint of `epoch` ([] if intact), None if it has no manifest."""
    directory = self.directory(epoch)
    try:
      with open(os.path.join(directory, MANIFEST)) as f:
        manifest = json.load(f)
    except FileNotFoundError:
      return None
    except (OSError, ValueError) as e:
      return [f"unreadable {MANIFEST} ({e})"]
    problems = []
    for rel, expected in sorted(manifest.items()):
      path = os.path.join(directory, rel)
      if not os.path.isfile(path):
        problems.append(f"{rel} is missing")
      elif _digest(path) != expected:
        problems.append(f"{rel} does not match its checksum")
    return problems

  def check_intact(self, epoch: int) -> None:
    """Raises CheckpointDamagedError naming the damaged files of the checkpoint of
    `epoch`; one this Checkpointer already verified is not hashed again."""
    if epoch in self._intact:
      return
    problems = self.verify(epoch)
    if problems == []:
      self._intact.add(epoch)
    if problems:
      intact = [e for e in self.epochs() if e != epoch and not self.verify(e)]
      raise CheckpointDamagedError(
          f"the checkpoint of epoch {epoch} in {self.directory(epoch)} is damaged: "
          f"{'; '.join(problems[:3])}{' ...' if len(problems) > 3 else ''}. "
          f"Intact epochs: {intact or 'none'}.")

  def newest_intact_epoch(self, report: Callable[[str], None] = print) -> int | None:
    """The newest epoch whose checkpoint verifies (None if none).

    Newer damaged checkpoints are moved to `<workdir>/damaged_checkpoints/` (so
    that the epoch can be saved again) and reported by name.
    """
    for epoch in reversed(self.epochs()):
      problems = self.verify(epoch)
      if problems is None:
        report(f"warning: the checkpoint of epoch {epoch} has no {MANIFEST} "
               "(written by an older jaxrobust, or killed right after saving): used unverified.")
        return epoch
      if not problems:
        self._intact.add(epoch)
        return epoch
      base = os.path.join(os.path.dirname(str(self._manager.directory)),
                          "damaged_checkpoints", str(epoch))
      quarantine, n = base, 1
      while os.path.exists(quarantine):
        n += 1
        quarantine = f"{base}.{n}"
      os.makedirs(os.path.dirname(quarantine), exist_ok=True)
      shutil.move(self.directory(epoch), quarantine)
      self._manager.reload()
      report(f"warning: the checkpoint of epoch {epoch} is damaged ({'; '.join(problems[:3])}); "
             f"moved to {quarantine}, resuming from an older one.")
    return None

  def restore_meta(self, epoch: int) -> dict[str, Any]:
    return self._manager.restore(
        epoch, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]

  def restore(self, epoch: int, like: Any, sharding: Any = None) -> tuple[Any, dict[str, Any]]:
    """Restores the state saved at `epoch` into the structure of `like`, on any devices.

    like: a state (its arrays' shardings are the targets) or its abstract
      shapes (`jax.eval_shape`; placed by `sharding`).
    sharding: one `jax.sharding.Sharding` for every leaf, or a tree of them
      shaped as like, overriding like's; default: like's arrays' own, and
      replicated over `data_mesh()` (every device) for abstract leaves.
    Raises CheckpointDamagedError if its files fail their checksums.
    """
    self.check_intact(epoch)
    meta = self.restore_meta(epoch)
    if meta.get("fingerprint") != self.fingerprint:
      raise CheckpointMismatchError(
          f"The workdir {self._manager.directory} holds a checkpoint (epoch "
          f"{epoch}) of {meta.get('fingerprint')}, but this run is "
          f"{self.fingerprint}. Use a new --workdir, or the original config.")
    abstract = restore_target(like, sharding)
    restored = self._manager.restore(
        epoch, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract)))
    return restored["state"], meta

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.close()


def restore_target(like: Any, sharding: Any = None) -> Any:
  """like's leaves as `jax.ShapeDtypeStruct`s carrying the sharding each is restored
  with (see `Checkpointer.restore`)."""
  if sharding is None:
    whole = NamedSharding(data_mesh(), P())
    sharding = jax.tree.map(
        lambda leaf: leaf.sharding if isinstance(leaf, jax.Array) else whole, like)
  elif isinstance(sharding, jax.sharding.Sharding):
    sharding = jax.tree.map(lambda _: sharding, like)
  try:
    return jax.tree.map(lambda leaf, s: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=s),
                        like, sharding)
  except ValueError as e:
    raise ValueError(f"sharding must be one jax.sharding.Sharding or a tree of them shaped "
                     f"as the state: {e}") from None
