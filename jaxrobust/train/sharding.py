"""Data parallelism on a device mesh: the batch is split over a `data` axis.

One device is a mesh of one, so the same code runs on a laptop CPU, a GPU
node or a TPU slice (multi-host: call `jax.distributed.initialize()` first).
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P


def data_mesh() -> Mesh:
  """A 1-D mesh over all devices, axis name "data"."""
  return Mesh(np.asarray(jax.devices()), ("data",))


def shard_batch(mesh: Mesh, *arrays: np.ndarray) -> tuple[jax.Array, ...]:
  """Places arrays [batch, ...] split along batch over the mesh's data axis."""
  n = mesh.devices.size
  out = []
  for a in arrays:
    if a.shape[0] % n:
      raise ValueError(f"Batch size {a.shape[0]} is not divisible by the "
                       f"{n} devices of the data mesh.")
    out.append(jax.device_put(a, NamedSharding(mesh, P("data"))))
  return tuple(out)


def replicate(mesh: Mesh, tree: Any) -> Any:
  """Places every leaf of tree on all devices of the mesh."""
  return jax.device_put(tree, NamedSharding(mesh, P()))
