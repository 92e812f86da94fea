"""The training loop: learning, exact replay, resume and its safeguards."""

import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from experiments.configs import tiny
from jaxrobust import attacks, data, defenses, models, train


def test_loss_falls_in_a_few_steps_on_mnist5k():
  ds = data.load("mnist5k", "train")
  model = models.make("small_cnn", num_classes=10, mean=ds.info.mean, std=ds.info.std)
  tx = optax.adam(1e-3)
  state = train.init_state(model, tx, ds.info.input_shape, jax.random.key(0))
  step = jax.jit(train.make_train_step(model, defenses.Standard(), tx))
  losses = []
  for i, (x, y) in enumerate(data.epoch_batches(ds.images, ds.labels, 64,
                                                key=jax.random.key(1), epoch=0)):
    if i == 30:
      break
    state, metrics = step(state, (x, y), jax.random.key(i))
    losses.append(float(metrics["loss"]))
  assert int(state.step) == 30
  assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5]), losses


def test_batchnorm_statistics_are_trained_and_kept_in_the_state():
  ds = data.load("digits", "train")
  model = models.make("small_cnn", num_classes=10, mean=ds.info.mean, std=ds.info.std,
                        features=(4, 8), hidden=16, batchnorm=True)
  tx = optax.sgd(0.1)
  state = train.init_state(model, tx, ds.info.input_shape, jax.random.key(0))
  before = state.model_state
  step = jax.jit(train.make_train_step(model, defenses.PGDAT(attacks.PGD(eps=0.1, step_size=0.05, steps=2)),
                                       tx))
  state, _ = step(state, (ds.images[:32], ds.labels[:32]), jax.random.key(0))
  moved = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), before, state.model_state)
  assert min(jax.tree.leaves(moved)) > 0


def _config():
  config = tiny.get_config()
  config.epochs = 2
  return config


def _params(state):
  return jax.tree.leaves(state.params)


def test_replaying_an_epoch_from_its_checkpoint_is_bit_identical(tmp_path):
  config = _config()
  workdir = str(tmp_path / "run")
  first = train.fit(config, workdir)
  assert [r["epoch"] for r in first.history] == [1, 2]
  assert first.history[-1]["train_loss"] < first.history[0]["train_loss"]
  # Drop the last checkpoint: the run resumes after epoch 1 and replays epoch 2.
  shutil.rmtree(os.path.join(workdir, "checkpoints", "2"))
  second = train.fit(config, workdir)
  assert [r["epoch"] for r in second.history] == [1, 2]  # epoch 2 logged once
  for a, b in zip(_params(first.state), _params(second.state)):
    np.testing.assert_array_equal(a, b)
  # A finished run restarted does no more training and returns the same state.
  third = train.fit(config, workdir)
  for a, b in zip(_params(first.state), _params(third.state)):
    np.testing.assert_array_equal(a, b)


def test_a_workdir_of_another_model_is_refused_and_kept(tmp_path):
  config = _config()
  config.epochs = 1
  workdir = str(tmp_path / "run")
  train.fit(config, workdir)
  config.model.hidden = 64
  with pytest.raises(train.CheckpointMismatchError, match="holds a checkpoint"):
    train.fit(config, workdir)
  assert os.path.isdir(os.path.join(workdir, "checkpoints", "1"))
  # The same model under another defense is another run, not a resumable one.
  config.model.hidden = _config().model.hidden
  config.defense = {"name": "standard"}
  with pytest.raises(train.CheckpointMismatchError, match="standard"):
    train.fit(config, workdir)


@pytest.mark.parametrize("field,value,match", [
    ("dataset", "imagenet", "valid choices"),
    ("epochs", 0, "epochs"),
    ("batch_size", 100000, "exceeds"),
])
def test_bad_config_values_raise_before_training(tmp_path, field, value, match):
  config = _config()
  config[field] = value
  with pytest.raises(ValueError, match=match):
    train.fit(config, str(tmp_path))


def test_bad_model_optimizer_and_defense_names_raise(tmp_path):
  for section, match in [("model", "valid choices.*small_cnn"),
                         ("optimizer", "valid choices.*adam"),
                         ("defense", "valid choices.*pgd_at")]:
    config = _config()
    config[section].name = "nonexistent"
    with pytest.raises(ValueError, match=match):
      train.fit(config, str(tmp_path / section))


def test_more_epochs_trace_nothing_new(tmp_path):
  """The train and eval steps compile once per run, not once per epoch or batch."""
  traces = []

  def listener(name, *_, **__):
    if name.endswith("jaxpr_trace_duration"):
      traces.append(name)

  jax.monitoring.register_event_duration_secs_listener(listener)
  counts = {}
  try:
    for run, epochs in enumerate((1, 1, 3)):  # the first run warms process-wide caches
      config = _config()
      config.epochs = epochs
      config.model.hidden = 24 + run  # a new model: nothing reused from the other runs
      traces.clear()
      train.fit(config, str(tmp_path / str(run)))
      counts[epochs] = len(traces)
  finally:
    jax.monitoring.unregister_event_duration_listener(listener)
  assert counts[1] > 0 and counts[3] == counts[1], counts
