"""Evaluation and attack ensembles with the batch sharded over a device mesh.

`ShardedEvaluator` is `Evaluator` with every batch split over the mesh's
`data` axis and the variables replicated (or, stacked models on a 2-D mesh,
split over its `model` axis). The attacks run unchanged: each compiled step
is the unsharded one, partitioned by the compiler along the batch (attacks
act per example; their random draws do not depend on the sharding, since
`jax_threefry_partitionable` is on), so a sharded evaluation gives the
unsharded results for the same batch shapes.

`ShardedEnsembleEvaluator` runs AutoAttack's protocol (each attack on the
points every earlier one failed to break; Croce & Hein, ICML 2020, Sec. 4)
this way. Between components the surviving points are re-packed on the host
into dense batches padded to a multiple of the data axis, so every device
holds an equal share of the remaining work and none idles on an empty shard
while another attacks its survivors.

Multi-host: every process holds the (small) evaluation split whole and
places only its own devices' rows; results come back replicated, so every
process sees the same per-example arrays.
"""

from __future__ import annotations

from typing import Any, Mapping

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxrobust.eval.ensemble import EnsembleEvaluator
from jaxrobust.eval.evaluator import ApplyFn, Evaluator
from jaxrobust import sharding


def place_variables(mesh: Mesh, variables: Any, stacked: bool) -> Any:
  """Variables replicated, or stacked models [M, ...] split over the model axis."""
  if stacked and sharding.model_size(mesh) > 1:
    m = len(jax.tree.leaves(variables)[0])
    if m % sharding.model_size(mesh):
      raise ValueError(f"{m} stacked models do not divide over the "
                       f"{sharding.model_size(mesh)} devices of the mesh's model axis; use a "
                       "model axis that divides the model count (sharding.population_mesh).")
    return sharding.shard_members(mesh, variables)
  return sharding.replicate(mesh, variables)


class ShardedEvaluator(Evaluator):
  """`Evaluator` over a mesh: batches split over "data", per-example results whole.

  Args (as Evaluator's, plus):
    mesh: a mesh with a "data" axis (default `sharding.data_mesh()`, every device);
      with stacked models it may have a "model" axis too (`population_mesh`).
      batch_size must be a multiple of the data axis; smaller last or surviving
      batches are padded to one.
  """

  def __init__(self, apply_fn: ApplyFn, attacks: Mapping[str, Any], batch_size: int = 500,
               stacked: bool = False, mesh: Mesh | None = None):
    super().__init__(apply_fn, attacks, batch_size, stacked)
    self.mesh = sharding.data_mesh() if mesh is None else mesh
    if sharding.DATA not in self.mesh.shape:
      raise ValueError(f"the mesh needs a {sharding.DATA!r} axis, got axes "
                       f"{tuple(self.mesh.shape)}.")
    d = sharding.data_size(self.mesh)
    if batch_size % d:
      raise ValueError(f"batch_size {batch_size} must be a multiple of the {d} devices of the "
                       f"mesh's data axis, e.g. {sharding.padded_to(batch_size, d)}.")
    if sharding.model_size(self.mesh) > 1 and not stacked:
      raise ValueError("a mesh with a model axis needs stacked=True (several models).")
    # Results come back replicated: every process reads them whole.
    whole = NamedSharding(self.mesh, P())
    self._steps = {name: self._sharded(jax.jit(step, out_shardings=whole))
                   for name, step in self._steps.items()}

  def _sharded(self, step):
    mesh, d = self.mesh, sharding.data_size(self.mesh)

    def run(variables, x, y, key):
      pad = sharding.padded_to(len(y), d) - len(y)
      if pad:  # a survivor batch smaller than the data axis: every device gets a row
        x = np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)])
        y = np.concatenate([y, np.zeros((pad,), y.dtype)])
      x, y = sharding.shard_batch(mesh, x, y)
      return step(variables, x, y, sharding.replicate(mesh, key))

    return run

  def correct(self, variables, images: np.ndarray, labels: np.ndarray, *,
              key: jax.Array, progress: bool = False) -> dict[str, np.ndarray]:
    """As `Evaluator.correct`; variables are placed on the mesh once per call."""
    return super().correct(place_variables(self.mesh, variables, self.stacked), images,
                           labels, key=key, progress=progress)


class ShardedEnsembleEvaluator(EnsembleEvaluator):
  """`EnsembleEvaluator` over a mesh (AutoAttack's protocol, sharded).

  Each component attacks only the points still robust, re-packed densely and
  padded to a multiple of the data axis: the devices share the survivors
  evenly after every component. Args as EnsembleEvaluator's, plus `mesh`
  (see `ShardedEvaluator`).
  """

  def __init__(self, apply_fn: ApplyFn, attacks: Mapping[str, Any], batch_size: int = 500,
               stacked: bool = False, mesh: Mesh | None = None):
    super().__init__(apply_fn, attacks, batch_size, stacked)
    self.mesh = sharding.data_mesh() if mesh is None else mesh
    self._clean = ShardedEvaluator(apply_fn, {"clean": None}, batch_size, stacked, self.mesh)
    self._attacks = {name: ShardedEvaluator(apply_fn, {name: attack}, batch_size, stacked,
                                            self.mesh)
                     for name, attack in attacks.items()}

  def correct(self, variables, images: np.ndarray, labels: np.ndarray, *,
              key: jax.Array, progress: bool = False) -> dict[str, Any]:
    """As `EnsembleEvaluator.correct`; variables are placed on the mesh once."""
    return super().correct(place_variables(self.mesh, variables, self.stacked), images,
                           labels, key=key, progress=progress)
