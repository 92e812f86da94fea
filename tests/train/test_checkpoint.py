"""Checkpoints and the metrics log."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import train


def _state(seed):
  return train.TrainState(step=jnp.asarray(seed, jnp.int32),
                          params={"w": jax.random.normal(jax.random.key(seed), (3, 2))},
                          model_state={}, opt_state=(jnp.zeros(2),))


def test_restore_returns_the_saved_state_bit_for_bit(tmp_path):
  ckpt = train.Checkpointer(str(tmp_path), {"model": "a"})
  ckpt.save(1, _state(1))
  ckpt.save(2, _state(2))
  ckpt.wait()
  assert ckpt.latest_epoch() == 2
  restored, meta = ckpt.restore(2, _state(0))
  assert meta["epoch"] == 2
  for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(_state(2))):
    np.testing.assert_array_equal(a, b)
  ckpt.close()


def test_a_different_model_in_the_workdir_is_refused(tmp_path):
  ckpt = train.Checkpointer(str(tmp_path), {"model": "small_cnn"})
  ckpt.save(1, _state(1))
  ckpt.close()
  other = train.Checkpointer(str(tmp_path), {"model": "mlp"})
  with pytest.raises(train.CheckpointMismatchError, match="small_cnn.*mlp.*--workdir"):
    other.restore(1, _state(0))
  other.close()


def test_metrics_log_truncates_epochs_after_the_checkpoint_and_skips_torn_lines(tmp_path):
  log = train.MetricsLog(str(tmp_path))
  for epoch in (1, 2, 3):
    log.write({"epoch": epoch, "loss": float(epoch)})
  with open(log.path, "a") as f:
    f.write('{"epoch": 4, "lo')  # a write cut by a kill
  assert [r["epoch"] for r in log.records()] == [1, 2, 3]
  log.truncate(2)
  assert [r["epoch"] for r in log.records()] == [1, 2]
  with open(log.path) as f:
    assert all(json.loads(line) for line in f)
