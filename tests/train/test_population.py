"""Populations: a member is its single run, exact resume, export, bad input.

One small population (TRADES on the 8x8 digits, 2 members, 1 epoch) varies
every numeric axis at once; the module fixture trains it once. A member
matches its single run to float reassociation under vmap, which sign-step
attacks amplify: a rounding difference flips the sign of a near-zero input
gradient component (TRADES' TPGD starts at x + 0.001 N, where the KL gradient
is near zero), moving that pixel by a whole step. Measured on this problem
after 14 steps: 3e-4 in the parameters with TRADES, 6e-8 with standard
training; a wrong beta or eps moves them by orders of magnitude more.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from experiments.configs import tiny
from jaxrobust import train
from jaxrobust.train import loop, population
from jaxrobust.train.monitor import (ROBUST_GAP_KEY, ROBUST_TEST_KEY, ROBUST_TRAIN_KEY,
                                     subset_indices)

# Every axis varies; weight decay 0 and > 0 share one population (sgd's state
# structure differs between the two in a single run).
HPARAMS = {"seed": [3, 4], "learning_rate": [0.05, 0.1], "weight_decay": [0.0, 5e-4],
           "eps": [0.1, 0.2], "defense.beta": [1.0, 6.0]}


def _config(epochs=1):
  c = tiny.get_config("trades")
  c.dataset = "digits"
  c.model = {"name": "mlp", "hidden": (16,)}
  c.optimizer.name = "sgd"
  c.optimizer.schedule = "constant"  # more epochs continue the same schedule
  c.batch_size = 200
  c.epochs = epochs
  c.robust_gap.num_examples = 32
  c.robust_gap.pgd_steps = 2
  return c


def _leaves(tree):
  return [np.asarray(a) for a in jax.tree.leaves(tree)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("population"))
  return workdir, population.fit_population(_config(), HPARAMS, workdir)


def test_a_member_equals_its_single_run_and_logs_the_robust_gap(trained, tmp_path):
  _, result = trained
  assert len(result) == 2 and [r["epoch"] for r in result.history] == [1]
  c = result.configs[1]
  assert (c.seed, c.optimizer.learning_rate, c.optimizer.weight_decay, c.defense.beta) == (
      4, 0.1, 5e-4, 6.0)
  assert c.defense.attack.eps == 0.2
  assert c.defense.attack.step_size == pytest.approx(2 * _config().defense.attack.step_size)
  alone = train.fit(c, str(tmp_path / "alone"))
  member = result.member(1)
  for a, b in zip(_leaves(member.state), _leaves(alone.state)):
    np.testing.assert_allclose(a, b, rtol=0, atol=2e-3)
  assert jax.tree.structure(member.state) == jax.tree.structure(alone.state)
  mine, theirs = result.histories[1][-1], alone.history[-1]
  assert mine["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-3)
  for key in (ROBUST_TRAIN_KEY, ROBUST_TEST_KEY, ROBUST_GAP_KEY, "test_accuracy"):
    # An accuracy may differ by a point whose decision flips under reassociation.
    assert abs(mine[key] - theirs[key]) <= 1 / 32 + 1e-6, (key, mine, theirs)
  # The single run logs the gap every epoch; the population logs its members' means.
  assert alone.history[-1][ROBUST_GAP_KEY] == pytest.approx(
      alone.history[-1][ROBUST_TRAIN_KEY] - alone.history[-1][ROBUST_TEST_KEY])
  assert result.history[-1][ROBUST_GAP_KEY] == pytest.approx(
      np.mean([h[-1][ROBUST_GAP_KEY] for h in result.histories]))
  stacked = result.variables()
  assert all(leaf.shape[0] == 2 for leaf in jax.tree.leaves(stacked))
  # w_0 is the single run's initialisation (not its trained weights).
  init = train.init_state(alone.model, train.make_optimizer(c.optimizer, 1),
                          result.info.input_shape, jax.random.fold_in(jax.random.key(4), loop._INIT))
  w0 = jax.tree.map(lambda leaf: leaf[1], result.initial_variables()["params"])
  for a, b in zip(_leaves(w0), _leaves(init.params)):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_a_resumed_population_is_bit_identical_and_logs_each_epoch_once(trained):
  workdir, _ = trained
  first = population.fit_population(_config(epochs=2), HPARAMS, workdir)  # one more epoch
  assert [r["epoch"] for r in first.history] == [1, 2]
  shutil.rmtree(os.path.join(workdir, "checkpoints", "2"))
  second = population.fit_population(_config(epochs=2), HPARAMS, workdir)
  assert [r["epoch"] for r in second.history] == [1, 2]
  for a, b in zip(_leaves(first.state), _leaves(second.state)):
    np.testing.assert_array_equal(a, b)
  assert second.histories == first.histories
  # Another population cannot resume this one's checkpoints.
  with pytest.raises(train.CheckpointMismatchError):
    population.fit_population(_config(), {**HPARAMS, "seed": [5, 6]}, workdir)


def test_an_exported_member_is_an_ordinary_run(trained, tmp_path):
  """Member 0 (weight decay 0: its single run's sgd has no decay link) restores as
  `load_trained` (what experiments.evaluate calls) rebuilds it from its config."""
  _, result = trained
  workdir = population.export_member(result, 0, str(tmp_path / "member0"))
  restored = train.load_trained(workdir)
  assert restored.epoch == 1 and restored.config.defense.beta == 1.0
  assert restored.config.seed == 3
  for a, b in zip(_leaves(restored.variables), _leaves(train.variables(result.member(0).state))):
    np.testing.assert_array_equal(a, b)
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    assert [json.loads(line)["epoch"] for line in f] == [1]
  assert (tmp_path / "member0" / "training_curves.png").read_bytes()[:4] == b"\x89PNG"
  with pytest.raises(ValueError, match="already holds checkpoints"):
    population.export_member(result, 0, workdir)
  population.plot_curves(result, str(tmp_path / "population.png"))
  assert (tmp_path / "population.png").stat().st_size > 10_000
  with pytest.raises(ValueError, match=r"member index .* \[0, 2\)"):
    population.member(result, 2)


def test_grid_is_the_cartesian_product():
  assert population.grid(learning_rate=[1, 2], seed=[0, 1, 2]) == {
      "learning_rate": [1, 1, 1, 2, 2, 2], "seed": [0, 1, 2, 0, 1, 2]}
  with pytest.raises(ValueError, match="empty"):
    population.grid(seed=[])


@pytest.mark.parametrize("hparams, match", [
    ({}, "empty"),
    ({"seed": []}, "empty"),
    ({"seed": [0, 1], "learning_rate": [0.1]}, r"lengths differ.*'seed': 2.*'learning_rate': 1"),
    ({"momentum": [0.9]}, "Unknown population axis 'momentum'.*Valid axes: seed"),
    ({"model.hidden": [8]}, "separate populations"),
    ({"defense.attack.steps": [1, 3]}, "differs in structure"),
    ({"learning_rate": ["fast"]}, r"hparams\['learning_rate'\]\[0\] must be a number"),
    ({"seed": [0.5]}, "must be an integer"),
    ({"learning_rate": [-1.0]}, "learning_rate"),
    ({"defense.beta": [-1.0]}, "beta"),
])
def test_bad_hparams_fail_before_training(tmp_path, hparams, match):
  with pytest.raises(ValueError, match=match):
    population.fit_population(_config(), hparams, str(tmp_path))
  assert not os.path.exists(tmp_path / "checkpoints")


def test_eps_axis_needs_a_defense_with_eps():
  c = _config()
  c.defense = {"name": "standard"}
  with pytest.raises(ValueError, match="no eps"):
    population.member_configs(c, {"eps": [0.1]})


def test_robust_gap_subset_and_config_errors(tmp_path):
  idx = subset_indices(10, 4)
  assert list(idx) == [0, 3, 6, 9]
  with pytest.raises(ValueError, match="subset size"):
    subset_indices(10, 11)
  c = _config(epochs=1)
  c.robust_gap.pgd_steps = 0
  with pytest.raises(ValueError, match="robust_gap.pgd_steps"):
    train.fit(c, str(tmp_path))


@pytest.mark.slow
def test_a_population_killed_with_sigkill_resumes_bit_identically(tmp_path):
  """kill -9 in the middle of epoch 2, then the same command: the same parameters."""
  script = ("import sys; from tests.train.test_population import _config, HPARAMS; "
            "from jaxrobust.train import population; c = _config(epochs=3); "
            "c.batch_size = 20; population.fit_population(c, HPARAMS, sys.argv[1])")
  repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  run = lambda w: subprocess.run([sys.executable, "-c", script, w], cwd=repo, check=True,
                                 capture_output=True, timeout=900)
  run(str(tmp_path / "reference"))
  killed = tmp_path / "killed"
  proc = subprocess.Popen([sys.executable, "-c", script, str(killed)], cwd=repo,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  metrics, deadline = killed / "metrics.jsonl", time.time() + 600
  while not (metrics.exists() and metrics.read_text().count("\n") >= 1):
    assert proc.poll() is None and time.time() < deadline
    time.sleep(0.05)
  time.sleep(0.5)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  with open(metrics) as f:  # it really was cut short
    assert [json.loads(line)["epoch"] for line in f][-1] < 3
  run(str(killed))
  states = []
  for w in ("reference", "killed"):
    manager = ocp.CheckpointManager(os.path.join(tmp_path, w, "checkpoints"))
    assert manager.latest_step() == 3
    states.append(manager.restore(3, args=ocp.args.Composite(
        state=ocp.args.StandardRestore()))["state"])
    manager.close()
  for a, b in zip(jax.tree.leaves(states[0]), jax.tree.leaves(states[1])):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
