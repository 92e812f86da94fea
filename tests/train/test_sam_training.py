"""SAM inside make_train_step and experiments/train.py."""

import json

import chex
import jax
import optax

from experiments import pipeline
from experiments.configs import tiny
from jaxrobust import data, defenses, models, train
from jaxrobust.optim.sam import SAMState, sam


def _bn_setup():
  ds = data.load("digits", "train")
  model = models.make("small_cnn", num_classes=10, mean=ds.info.mean, std=ds.info.std,
                        features=(4, 8), hidden=16, batchnorm=True)
  return ds, model


def test_train_step_sam_keeps_unperturbed_batchnorm_stats_and_matches_optax_sam():
  ds, model = _bn_setup()
  batch = (ds.images[:32], ds.labels[:32])
  key = jax.random.key(3)
  results = {}
  for name, tx in {
      "base": optax.sgd(0.1),
      "ours": sam(optax.sgd(0.1), 0.05),
      "optax": optax.contrib.sam(optax.sgd(0.1),
                                 optax.chain(optax.contrib.normalize(), optax.sgd(0.05)),
                                 sync_period=2, opaque_mode=True)}.items():
    state = train.init_state(model, tx, ds.info.input_shape, jax.random.key(0))
    step = jax.jit(train.make_train_step(model, defenses.Standard(), tx))
    results[name], _ = step(state, batch, key)
  # BatchNorm statistics come from the unperturbed pass: the same as the base's.
  chex.assert_trees_all_equal(results["ours"].model_state, results["base"].model_state)
  # The step's grad_fn serves optax.contrib.sam's opaque mode too, with the same result.
  chex.assert_trees_all_close(results["ours"].params, results["optax"].params, atol=1e-6)
  gap = max(float(abs(a - b).max()) for a, b in zip(
      jax.tree.leaves(results["ours"].params), jax.tree.leaves(results["base"].params)))
  assert gap > 1e-5


def test_train_binary_config_trains_a_tiny_run_with_sam(tmp_path):
  # experiments/train.py locks the config, so --config.optimizer.sam.rho=0.05
  # needs the field to exist: a locked ConfigDict refuses unknown fields.
  config = tiny.get_config()
  config.lock()
  config.optimizer.sam.rho = 0.05
  config.epochs = 1
  config.defense = {"name": "standard"}
  assert config.optimizer.sam.kind == "sam"
  assert isinstance(train.make_optimizer(config.optimizer, 10).init({"w": jax.numpy.ones(1)}),
                    SAMState)
  report = pipeline.train_and_report(config, str(tmp_path / "run"))
  assert 0.5 < report["clean_accuracy"] <= 1.0, report
  saved = json.loads((tmp_path / "run" / "report.json").read_text())
  assert saved["clean_accuracy"] == report["clean_accuracy"]
