"""Device meshes: the batch split over a `data` axis, populations over `model`.

One device is a mesh of one, so the same code runs on a laptop CPU, a GPU
node, a TPU slice or several hosts (start those with
`jaxrobust.distributed.initialize` first; every mesh here spans the global
devices). What is where:

  parameters, optimizer state, attack objects  replicated (`replicate`);
  a batch [B, ...]                             split along B over `data`
                                               (`shard_batch`): each of the D
                                               devices holds B / D rows;
  a population's members [N, ...]              split along N over `model`
                                               (`shard_members`), each member's
                                               batch over `data` (a 2-D mesh,
                                               `population_mesh`).

The global batch is what a config's batch_size names; the per-device batch is
batch_size / D. Each process places only the rows of its own devices
(`jax.make_array_from_callback` on the host's copy, or
`shard_local_batch` when a loader reads only the host's rows), so a multi-host
run feeds each host its own shard.

References: JAX, "Distributed arrays and automatic parallelization" and
"Introduction to multi-controller JAX" (docs.jax.dev).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec as P

DATA, MODEL = "data", "model"


def _count(name: str, value, minimum: int) -> None:
  """value is an int (not a bool or float) >= minimum. (_checks shares this floor, and
  the floors allow no sideways import: the one integer check is kept here.)"""
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
    raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")


def _devices(devices: Sequence[Any] | None) -> list:
  if devices is not None and (isinstance(devices, (str, bytes))
                              or not hasattr(devices, "__iter__")):
    raise TypeError(f"devices must be a sequence of jax devices, got {devices!r}.")
  devices = list(jax.devices() if devices is None else np.ravel(np.array(list(devices), object)))
  if not devices:
    raise ValueError("a mesh needs at least one device.")
  bad = [d for d in devices if not isinstance(d, jax.Device)]
  if bad:
    raise TypeError(f"devices must be jax devices (jax.devices()), got {bad[0]!r}.")
  # jax.make_mesh accepts a device twice; its shards would then alias one memory.
  seen = set()
  repeated = [d for d in devices if d in seen or seen.add(d)]
  if repeated:
    raise ValueError(f"devices must be distinct, got {repeated[0]} more than once in "
                     f"{len(devices)} devices.")
  return devices


def data_mesh(devices: Sequence[Any] | None = None) -> Mesh:
  """A 1-D mesh, axis "data", over `devices` (default: every device of every process)."""
  devices = _devices(devices)
  # Auto axes: the compiler propagates shardings through the step (GSPMD), so
  # library code written for one device needs no sharding annotations.
  return jax.make_mesh((len(devices),), (DATA,), axis_types=(AxisType.Auto,), devices=devices)


def population_mesh(members: int, model: int | None = None,
                    devices: Sequence[Any] | None = None) -> Mesh:
  """A 2-D mesh ("model", "data") for a population of `members` models.

  model: devices along the population axis; it must divide both the device
  count and `members` (default: their greatest common divisor, so members
  spread first and the remaining factor splits each member's batch).
  """
  devices = _devices(devices)
  n = len(devices)
  _count("members", members, 1)
  if model is None:
    model = math.gcd(members, n)
  valid = [m for m in range(1, n + 1) if n % m == 0 and members % m == 0]
  if model not in valid:
    raise ValueError(f"the model axis ({model!r} devices) must divide the {n} devices and "
                     f"the {members} members; valid sizes: {valid}.")
  return jax.make_mesh((model, n // model), (MODEL, DATA), axis_types=(AxisType.Auto,) * 2,
                       devices=devices)


def _check_mesh(mesh) -> None:
  if not isinstance(mesh, Mesh):
    raise TypeError(f"mesh must be a jax.sharding.Mesh (data_mesh, population_mesh), got "
                    f"{type(mesh).__name__}.")


def data_size(mesh: Mesh) -> int:
  """Devices along the mesh's data axis (1 if it has none)."""
  _check_mesh(mesh)
  return mesh.shape.get(DATA, 1)


def model_size(mesh: Mesh) -> int:
  """Devices along the mesh's model axis (1 if it has none)."""
  _check_mesh(mesh)
  return mesh.shape.get(MODEL, 1)


def padded_to(n: int, multiple: int) -> int:
  """The smallest multiple of `multiple` >= n (so every device gets a row)."""
  _count("n", n, 0)
  _count("multiple", multiple, 1)
  return -(-n // multiple) * multiple


def _place(mesh: Mesh, a, spec: P) -> jax.Array:
  """A global array from a host array every process holds whole; each process
  copies only the rows of its own devices."""
  a = np.asarray(a)
  sharding = NamedSharding(mesh, spec)
  return jax.make_array_from_callback(a.shape, sharding, lambda index: a[index])


def _check_divisible(mesh: Mesh, arrays, axis: int, what: str) -> None:
  d = data_size(mesh)
  for a in arrays:
    if np.ndim(a) <= axis or np.shape(a)[axis] % d:
      raise ValueError(f"{what} {np.shape(a)} must have an axis {axis} divisible by the "
                       f"{d} devices of the mesh's data axis (per-device batch = batch / {d}).")


def shard_batch(mesh: Mesh, *arrays: np.ndarray) -> tuple[jax.Array, ...]:
  """Places host arrays [batch, ...] (the global batch, the same on every process)
  split along batch over the data axis (replicated over a model axis)."""
  _check_mesh(mesh)
  _check_divisible(mesh, arrays, 0, "Batch of shape")
  return tuple(_place(mesh, a, P(DATA)) for a in arrays)


def shard_member_batch(mesh: Mesh, *arrays: np.ndarray) -> tuple[jax.Array, ...]:
  """Places per-member batches [members, batch, ...]: members over the model axis,
  batch over the data axis."""
  _check_mesh(mesh)
  _check_divisible(mesh, arrays, 1, "Member batch of shape")
  for a in arrays:
    if np.shape(a)[0] % model_size(mesh):
      raise ValueError(f"{np.shape(a)[0]} members do not divide over the "
                       f"{model_size(mesh)} devices of the model axis.")
  return tuple(_place(mesh, a, P(MODEL, DATA)) for a in arrays)


def host_rows(mesh: Mesh, batch: int) -> slice:
  """The rows of a global batch [batch, ...] that this process's devices hold
  along the data axis (all rows on one host): what a per-host loader reads."""
  _check_mesh(mesh)
  _count("batch", batch, 1)
  sharding = NamedSharding(mesh, P(DATA))
  rows = sorted({index[0].indices(batch)[:2]
                 for index in sharding.addressable_devices_indices_map((batch,)).values()})
  start, stop = rows[0][0], rows[-1][1]
  if sum(b - a for a, b in rows) != stop - start:
    raise ValueError("this process's devices hold non-contiguous rows of the batch: "
                     "order the mesh's devices by process (jax.make_mesh does).")
  return slice(start, stop)


def shard_local_batch(mesh: Mesh, *arrays: np.ndarray) -> tuple[jax.Array, ...]:
  """Global arrays from each process's own rows ([batch / processes, ...] here,
  rows `host_rows(mesh, batch)` of the global batch), split over the data axis."""
  _check_mesh(mesh)
  sharding = NamedSharding(mesh, P(DATA))
  return tuple(jax.make_array_from_process_local_data(sharding, np.asarray(a))
               for a in arrays)


def put(tree: Any, shardings: Any) -> Any:
  """jax.device_put(tree, shardings) that also places on other processes' devices:
  each process passes the same values and copies in its own devices' parts
  (device_put accepts only this process's devices)."""
  is_sharding = lambda s: isinstance(s, jax.sharding.Sharding)  # noqa: E731
  bad = [s for s in jax.tree.leaves(shardings, is_leaf=is_sharding) if not is_sharding(s)]
  if bad or shardings is None:
    first = bad[0] if bad else None
    raise TypeError(f"shardings must be a jax.sharding.Sharding or a tree of them, got "
                    f"{type(first).__name__} {first!r}.")
  if all(s.is_fully_addressable for s in jax.tree.leaves(
      shardings, is_leaf=lambda s: isinstance(s, jax.sharding.Sharding))):
    return jax.device_put(tree, shardings)
  if isinstance(shardings, jax.sharding.Sharding):
    shardings = jax.tree.map(lambda _: shardings, tree)
  return jax.tree.map(_put_global, tree, shardings)


def _put_global(leaf, sharding):
  if jax.dtypes.issubdtype(getattr(leaf, "dtype", None), jax.dtypes.prng_key):
    return jax.random.wrap_key_data(_put_global(jax.random.key_data(leaf), sharding),
                                    impl=jax.random.key_impl(leaf))
  a = np.asarray(leaf)
  return jax.make_array_from_callback(a.shape, sharding, lambda index: a[index])


def replicate(mesh: Mesh, tree: Any) -> Any:
  """Places every leaf of tree on all devices of the mesh."""
  _check_mesh(mesh)
  return put(tree, NamedSharding(mesh, P()))


def shard_members(mesh: Mesh, tree: Any) -> Any:
  """Places a stacked tree (every leaf [members, ...]) split along members over the
  model axis, replicated over data; scalar leaves are replicated."""
  _check_mesh(mesh)
  m = model_size(mesh)
  sizes = {np.shape(leaf)[0] for leaf in jax.tree.leaves(tree) if np.ndim(leaf)}
  if len(sizes) > 1:
    raise ValueError(f"every stacked leaf must be [members, ...] with one member count, got "
                     f"leading sizes {sorted(sizes)}.")
  if sizes and sizes.pop() % m:
    k = next(np.shape(leaf)[0] for leaf in jax.tree.leaves(tree) if np.ndim(leaf))
    raise ValueError(f"{k} members do not divide over the {m} devices of the mesh's model "
                     f"axis; use a population of a multiple of {m} members or "
                     f"population_mesh({k}) (model axis: a divisor of {k}).")
  members = NamedSharding(mesh, P(MODEL))
  whole = NamedSharding(mesh, P())
  return put(tree, jax.tree.map(lambda leaf: members if np.ndim(leaf) else whole, tree))


def gather(tree: Any) -> Any:
  """Host numpy copies of (possibly multi-host) global arrays, whole on every process."""
  from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
  if jax.process_count() == 1:
    return jax.tree.map(np.asarray, tree)
  return multihost_utils.process_allgather(tree, tiled=True)
