"""Train state, steps, optimizers, checkpoints, metrics and the training loop."""

from jaxrobust.train.checkpoint import CheckpointDamagedError, CheckpointMismatchError, Checkpointer
from jaxrobust.train.driver import TrainingDivergedError, run_epochs
from jaxrobust.train.loop import FitResult, build_model, fit
from jaxrobust.train.metrics import MetricsLog
from jaxrobust.train.monitor import COMonitor, RobustGapMonitor, detect_collapse
from jaxrobust.train.optimizers import make_optimizer, make_schedule
from jaxrobust.train import population
from jaxrobust.train.population import PopulationResult, export_member, fit_population
from jaxrobust.train.restore import TrainedModel, load_trained
from jaxrobust.train.sharding import data_mesh, replicate, shard_batch
from jaxrobust.train.state import TrainState, init_state, variables
from jaxrobust.train.step import make_train_step
