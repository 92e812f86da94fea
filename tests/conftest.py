"""Shared fixtures: the persistent compilation cache and one small trained model."""

import os

import jax
import pytest

# The attacks' short loops run rolled in the suite: unrolled (the library's
# default, faster at run time on a CPU) they compile about 1.5x longer, and the
# suite is mostly compilation. tests/attacks/test_core.py checks the unrolled
# loops against rolled ones. Subprocesses inherit the setting.
os.environ.setdefault("JAXROBUST_UNROLL_MAX_STEPS", "0")
# Likewise robustness curves run vmapped (one copy of the attack to compile);
# the CPU default, "sequential", compiles one per radius. test_sweep_restarts_targets
# checks both strategies and the default's choice.
os.environ.setdefault("JAXROBUST_SWEEP_STRATEGY", "vmap")

# Compiled programs are reused across test runs (CI sets the directory).
jax.config.update("jax_compilation_cache_dir", os.environ.get(
    "JAX_COMPILATION_CACHE_DIR",
    os.path.join(os.path.expanduser("~"), ".cache", "jaxrobust", "jax")))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
  """Drops each test module's compiled programs when the module ends.

  One xdist worker runs hundreds of modules, and every XLA CPU executable
  holds memory maps until it is freed (this machine allows 65,530 per
  process). A CI run once lost a worker to a segfault inside a tiny
  model.init late in the run; exhausted maps are the suspected cause. The
  persistent cache keeps recompiling cheap.
  """
  yield
  jax.clear_caches()


@pytest.fixture(scope="session")
def mnist_model(tmp_path_factory):
  """A small CNN trained (standard, 3 epochs, ~15 s) on mnist5k: 96.4% clean.

  Returns (logits_fn, test images float [500, 28, 28, 1], test labels [500],
  clean accuracy on them).
  """
  from experiments.configs import tiny
  from jaxrobust import data, models, train
  config = tiny.get_config()
  config.defense = {"name": "standard"}
  config.model = {"name": "small_cnn"}  # the default width
  config.epochs = 3
  config.batch_size = 50
  config.optimizer.learning_rate = 3e-3
  result = train.fit(config, str(tmp_path_factory.mktemp("mnist_model")))
  logits_fn = models.as_logits_fn(result.model, train.variables(result.state))
  x = data.to_float(result.test.images[:500])
  y = jax.numpy.asarray(result.test.labels[:500])
  accuracy = float((logits_fn(x).argmax(-1) == y).mean())
  return logits_fn, x, y, accuracy


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
  """Two tiny models trained by `fit` (standard, 1 epoch, seeds 0 and 1): returns [workdir of seed 0, workdir of seed 1] of experiments/configs/tiny.py runs."""
  from experiments.configs import tiny
  from jaxrobust import train
  workdirs = []
  for seed in (0, 1):
    config = tiny.get_config()
    config.defense = {"name": "standard"}
    config.epochs = 1
    config.seed = seed
    workdir = str(tmp_path_factory.mktemp(f"tiny_run_{seed}"))
    train.fit(config, workdir)
    workdirs.append(workdir)
  return workdirs
