"""Two tiny models trained by `fit` (standard, 1 epoch, seeds 0 and 1), with their workdirs."""

import pytest


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
  """Returns [workdir of seed 0, workdir of seed 1] of experiments/configs/tiny.py runs."""
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
