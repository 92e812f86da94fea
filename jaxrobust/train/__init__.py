"""Train state, steps, optimizers, checkpoints, metrics and the training loop."""

from jaxrobust.train.arrays import fit_arrays, loss_step
from jaxrobust.train.checkpoint import (CheckpointDamagedError, CheckpointMismatchError, Checkpointer,
                                       restore_target)
from jaxrobust.train.driver import TrainingDivergedError, run_epochs
from jaxrobust.train.loop import FitResult, build_model, fit
from jaxrobust.train.metrics import MetricsLog
from jaxrobust.train.monitor import COMonitor, RobustGapMonitor, detect_collapse
from jaxrobust.train.optimizers import make_optimizer, make_schedule
from jaxrobust.train import population
from jaxrobust.train.population import PopulationResult, export_member, fit_population
from jaxrobust.train.restore import TrainedModel, load_trained
# The mesh helpers live in jaxrobust.sharding (evaluation uses them too); re-exported here.
from jaxrobust.sharding import (data_mesh, host_rows, population_mesh, replicate, shard_batch,
                                shard_local_batch, shard_member_batch, shard_members)
from jaxrobust.train.state import TrainState, init_state, optax_update, variables
from jaxrobust.train.step import make_train_step
