"""The compiled program of a population: stacked init and one vmapped train step.

Private to `jaxrobust.train.population` (which documents the semantics);
`build_program` is re-exported there for benchmarks.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax import struct
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxrobust import data, defenses
from jaxrobust import sharding
from jaxrobust.train import loop
from jaxrobust.train.optimizers import _sharpness_aware, make_optimizer, make_schedule
from jaxrobust.train.state import TrainState, init_state
from jaxrobust.train.step import make_train_step


@struct.dataclass
class PopulationState:
  """step: scalar int32, the global step every member is at; members: the
  members' `TrainState`s stacked along a leading axis [N, ...] (checkpointed whole)."""
  step: jax.Array
  members: TrainState


def _optimizer(o: ml_collections.ConfigDict, total_steps: int, learning_rate, weight_decay,
               coupled_decay: bool) -> optax.GradientTransformation:
  """`make_optimizer(o)` with a traced learning rate and weight decay (one member's).

  The same transforms in the same order as make_optimizer, so a member's
  update is its single run's; coupled_decay: whether sgd/adam carry the
  add_decayed_weights link (make_optimizer omits it at weight_decay 0; a member
  with 0 then decays by 0, and `population.member_state` drops the link's
  empty state).
  """
  lr = make_schedule(o.schedule, learning_rate, total_steps, o.get("warmup_steps", 0))
  if o.name == "adamw":
    return _sharpness_aware(optax.adamw(lr, weight_decay=weight_decay), o.get("sam"))
  if o.name == "adam":
    base = optax.adam(lr)
  else:
    base = optax.sgd(lr, momentum=o.get("momentum", 0.9) or None,
                     nesterov=o.get("nesterov", False))
  if coupled_decay:
    base = optax.chain(optax.add_decayed_weights(weight_decay), base)
  return _sharpness_aware(base, o.get("sam"))


def _stack(trees: Sequence[Any], what: str) -> Any:
  """Stacks pytrees of one structure (static fields included) along a new axis."""
  first = jax.tree.structure(trees[0])
  for i, t in enumerate(trees[1:], 1):
    if jax.tree.structure(t) != first:
      raise ValueError(f"member {i}'s {what} differs in structure from member 0's "
                       f"({jax.tree.structure(t)} vs {first}): only numeric values may vary "
                       "inside a population; structural choices form separate populations.")
  return jax.tree.map(lambda *leaves: jnp.stack([jnp.asarray(v) for v in leaves]), *trees)


@dataclasses.dataclass
class Program:
  """The compiled pieces of a population, for `fit_population` and benchmarks.

  init() -> PopulationState: every member initialised as its single run (step 0).
  step(state, batch) -> (state, metrics): one train step of every member, one
    jitted program (state donated); batch = (uint8 images, int labels), shaped
    [b, ...] when shared_data (one data order: every member sees the batch)
    else [N, b, ...] (member i's batch at [i]); metrics: name -> [N].
  lower(state, batch): the step lowered for those arguments (`.compile()` times
    its compilation, as benchmarks do).
  defenses: each member's built defense; shared_data: whether members share a seed.
  mesh: the ("model", "data") mesh the members and batches are placed on (see
    `default_mesh`); state leaves are split over "model", batches over "data"
    (and per-member batches [N, b] over both); step and lower place a host batch.
  """
  init: Callable[[], PopulationState]
  step: Callable[[PopulationState, tuple], tuple[PopulationState, dict]]
  lower: Callable[[PopulationState, tuple], Any]
  defenses: list
  shared_data: bool
  mesh: Mesh | None = None


def default_mesh(members: int, batch_size: int, devices=None) -> Mesh:
  """The population's mesh on `devices` (default all): members over as many devices
  as divide their number (gcd), each member's batch over the largest factor of
  the remaining devices that divides batch_size; devices left over stay unused."""
  devices = list(jax.devices() if devices is None else devices)
  model = math.gcd(members, len(devices))
  rest = len(devices) // model
  data_axis = max(d for d in range(1, rest + 1) if rest % d == 0 and batch_size % d == 0)
  return sharding.population_mesh(members, model, devices[:model * data_axis])


def build_program(config: ml_collections.ConfigDict, configs: Sequence[ml_collections.ConfigDict],
                  model, info: data.DatasetInfo, total_steps: int,
                  mesh: Mesh | None = None) -> Program:
  """The population program of member configs (from `member_configs`) for `model`.

  Each member's optimizer and defense values are checked as its single run's
  would be; the defenses must share their structure (static fields).
  mesh: a ("model", "data") mesh (`sharding.population_mesh`); default
  `default_mesh(len(configs), config.batch_size)` over every device. The
  model axis must divide the members, the data axis the batch size.
  """
  for c in configs:  # each member's values checked as its own run would
    make_optimizer(c.optimizer, total_steps)
  member_defenses = [defenses.DEFENSES.from_config(c.defense.to_dict()) for c in configs]
  defense_stack = _stack(member_defenses, "defense")
  prox = loop.build_prox(config, total_steps)
  o = config.optimizer
  coupled_decay = o.name != "adamw" and any(c.optimizer.get("weight_decay", 0.0) > 0
                                            for c in configs)
  lrs = jnp.asarray([c.optimizer.learning_rate for c in configs], jnp.float32)
  wds = jnp.asarray([c.optimizer.get("weight_decay", 0.0) for c in configs], jnp.float32)
  seeds = [int(c.seed) for c in configs]
  root_keys = jnp.stack([jax.random.key(s) for s in seeds])
  make_tx = functools.partial(_optimizer, o, total_steps, coupled_decay=coupled_decay)
  # One data order for all members when they share a seed (the batch is then
  # broadcast, not copied N times).
  shared_data = len(set(seeds)) == 1

  n = len(configs)
  if mesh is None:
    mesh = default_mesh(n, config.batch_size)
  if n % sharding.model_size(mesh) or config.batch_size % sharding.data_size(mesh):
    raise ValueError(f"the mesh {dict(mesh.shape)} does not fit {n} members with batch size "
                     f"{config.batch_size}: its model axis must divide the members and its "
                     "data axis the batch size (population_mesh / default_mesh).")
  # Per-member values live with their member: the compiled step then needs no
  # communication between model-axis devices.
  lrs, wds, root_keys, defense_stack = sharding.shard_members(
      mesh, (lrs, wds, root_keys, defense_stack))
  members_sharding = NamedSharding(mesh, P(sharding.MODEL))
  init = jax.jit(jax.vmap(lambda key, lr, wd: init_state(
      model, make_tx(lr, wd), info.input_shape, jax.random.fold_in(key, loop._INIT))),
                 out_shardings=members_sharding)
  place = ((lambda batch: sharding.shard_batch(mesh, *batch)) if shared_data
           else (lambda batch: sharding.shard_member_batch(mesh, *batch)))

  def member_step(member, batch, key, lr, wd, defense, step):
    train_step = make_train_step(model, defense, make_tx(lr, wd),
                                 crop_padding=config.augment.crop_padding,
                                 flip=config.augment.flip, prox=prox)
    return train_step(member, batch,
                      jax.random.fold_in(jax.random.fold_in(key, loop._STEP), step))

  def population_step(state, batch, keys, lrs, wds, defense_stack):
    members, metrics = jax.vmap(member_step, in_axes=(0, None if shared_data else 0,
                                                      0, 0, 0, 0, None))(
        state.members, batch, keys, lrs, wds, defense_stack, state.step)
    return PopulationState(step=state.step + 1, members=members), metrics

  # The state keeps its placement from step to step (one compiled program).
  state_sharding = PopulationState(step=NamedSharding(mesh, P()), members=members_sharding)
  step = jax.jit(population_step, donate_argnums=0, out_shardings=(state_sharding, None))
  return Program(
      init=lambda: PopulationState(step=sharding.replicate(mesh, jnp.zeros((), jnp.int32)),
                                   members=init(root_keys, lrs, wds)),
      step=lambda state, batch: step(state, place(batch), root_keys, lrs, wds, defense_stack),
      lower=lambda state, batch: step.lower(state, place(batch), root_keys, lrs, wds,
                                            defense_stack),
      defenses=member_defenses, shared_data=shared_data, mesh=mesh)
