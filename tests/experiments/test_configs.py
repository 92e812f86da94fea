"""Every config file builds its model, defense, optimizer and eval attacks."""

import importlib
import pathlib

import jax
import jax.numpy as jnp
import pytest

from experiments import pipeline
from jaxrobust import defenses, train
from jaxrobust.data import embedded, tfds_source

CONFIGS = sorted(p.stem for p in (pathlib.Path(__file__).resolve().parents[2] /
                                  "experiments" / "configs").glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("name", CONFIGS)
def test_config_builds_without_data(name):
  config = importlib.import_module(f"experiments.configs.{name}").get_config()
  info = {**embedded.INFOS, **tfds_source.TFDS_DATASETS}[config.dataset]
  model = train.build_model(config, info)
  shapes = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1,) + info.input_shape))
  assert jax.eval_shape(model.apply, shapes, jnp.zeros((2,) + info.input_shape)).shape == (
      2, info.num_classes)
  defenses.from_config(config.defense.to_dict())
  train.make_optimizer(config.optimizer, total_steps=100)
  assert pipeline.eval_attacks(config)
