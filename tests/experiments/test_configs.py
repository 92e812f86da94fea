"""Every training config (for experiments.train) builds its model, defense, optimizer
and eval attacks. Configs of the other binaries (a config without a `defense`
section: dp_mnist, linear_theory, ...) are tested with their binaries."""

import importlib
import pathlib

import jax
import jax.numpy as jnp
import pytest

from experiments import pipeline
from experiments.configs.default import defense_section
from jaxrobust import defenses, train
from jaxrobust.data import embedded, tfds_source

ALL_CONFIGS = sorted(p.stem for p in (pathlib.Path(__file__).resolve().parents[2] /
                                      "experiments" / "configs").glob("*.py")
                     if p.stem != "__init__")
CONFIGS = [name for name in ALL_CONFIGS if "defense" in importlib.import_module(
    f"experiments.configs.{name}").get_config()]


def test_the_training_configs_are_found():
  assert {"default", "tiny", "cifar10_pgd_at", "fast_at_co"} <= set(CONFIGS)


@pytest.mark.parametrize("name", CONFIGS)
def test_config_builds_without_data(name):
  config = importlib.import_module(f"experiments.configs.{name}").get_config()
  info = {**embedded.INFOS, **tfds_source.TFDS_DATASETS}[config.dataset]
  model = train.build_model(config, info)
  shapes = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1,) + info.input_shape))
  assert jax.eval_shape(model.apply, shapes, jnp.zeros((2,) + info.input_shape)).shape == (
      2, info.num_classes)
  defenses.DEFENSES.from_config(config.defense.to_dict())
  train.make_optimizer(config.optimizer, total_steps=100)
  assert pipeline.eval_attacks(config)


@pytest.mark.parametrize("name", [n for n in CONFIGS if "compare" in importlib.import_module(
    f"experiments.configs.{n}").get_config()])
def test_compare_entries_name_defenses_and_heads(name):
  from experiments import defenses_compare

  config = importlib.import_module(f"experiments.configs.{name}").get_config()
  for entry in config.compare:
    defense, head = defenses_compare.parse_entry(entry)
    with config.unlocked():
      config.model.head = head or "identity"
    train.build_model(config, embedded.INFOS[config.dataset])
    defenses.DEFENSES.from_config(defense_section(defense, config.budget))
  with pytest.raises(ValueError, match="want <defense>.*'pgd_at'.*'bounded_logit'"):
    defenses_compare.parse_entry("pgd_at+bounded")
