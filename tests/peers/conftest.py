"""One trained small CNN shared by the peer tests, in Flax and as its torch twin."""

import pytest

from tests.peers import require_peers

N_PEER = 256  # test inputs every parity check uses


@pytest.fixture(scope="session")
def peer_setup(tmp_path_factory):
  """A SmallCNN trained (standard, 2 epochs) on mnist5k, the way tests/conftest.py does.

  Returns (model, variables, logits_fn, torch_model, x [256, 28, 28, 1], y [256]).
  """
  require_peers()
  import jax
  import torch
  from experiments.configs import tiny
  from jaxrobust import data, models, train
  from tests.peers.torch_models import to_torch
  torch.set_num_threads(1)  # pytest-xdist runs two workers on two cores
  config = tiny.get_config()
  config.defense = {"name": "standard"}
  config.model = {"name": "small_cnn"}
  config.epochs = 2
  result = train.fit(config, str(tmp_path_factory.mktemp("peer_model")))
  variables = train.variables(result.state)
  logits_fn = models.as_logits_fn(result.model, variables)
  x = data.to_float(result.test.images[:N_PEER])
  y = jax.numpy.asarray(result.test.labels[:N_PEER])
  return result.model, variables, logits_fn, to_torch(result.model, variables), x, y


N_ROBUST = 500  # test inputs of the reference-budget (AutoAttack) parity checks


@pytest.fixture(scope="session")
def robust_peer_setup(tmp_path_factory):
  """A SmallCNN PGD-trained (eps 0.1 Linf, PGD-5, 3 epochs) on mnist5k, and its torch twin.

  The attacks of the AutoAttack protocol run their full budget on most of its
  points (they stay robust), which is what reference-budget parity must cover.
  Returns (model, variables, logits_fn, torch_model, x [500, 28, 28, 1], y [500]).
  """
  require_peers()
  import jax
  import torch
  from experiments.configs import tiny
  from jaxrobust import data, models, train
  from tests.peers.torch_models import to_torch
  torch.set_num_threads(1)
  config = tiny.get_config()
  config.defense = {"name": "pgd_at", "attack": {"name": "pgd", "eps": 0.1,
                                                "step_size": 0.03, "steps": 5}}
  config.model = {"name": "small_cnn"}
  config.epochs = 3
  result = train.fit(config, str(tmp_path_factory.mktemp("robust_peer_model")))
  variables = train.variables(result.state)
  logits_fn = models.as_logits_fn(result.model, variables)
  x = data.to_float(result.test.images[:N_ROBUST])
  y = jax.numpy.asarray(result.test.labels[:N_ROBUST])
  return result.model, variables, logits_fn, to_torch(result.model, variables), x, y
