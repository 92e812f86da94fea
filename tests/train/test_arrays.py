"""The in-memory trainer: an interrupted run resumes bit-identically, per-step dispatch agrees
with the scan, own epoch orders, the divergence stop, and bad arguments named."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrobust import train

TX = optax.adam(0.05)


def _problem(n=48):
  rng = np.random.default_rng(0)
  x = rng.normal(size=(n, 3)).astype(np.float32)
  y = (x @ np.array([1.0, -2.0, 0.5], np.float32) + 0.1 * rng.normal(size=n)).astype(
      np.float32)
  return (x, y), train.TrainState.create({"w": jnp.zeros(3)}, TX)


def _loss(params, batch, key):
  x, y = batch
  noise = 0.01 * jax.random.normal(key, y.shape)  # the step key reaches the loss
  mse = jnp.mean((x @ params["w"] - y + noise) ** 2)
  return mse, {"mse": mse}


STEP = train.loss_step(_loss, TX, has_aux=True)


def _fit(state, data, workdir, epochs, **kw):
  return train.fit_arrays(STEP, state, data, key=jax.random.key(3), epochs=epochs,
                          batch_size=kw.pop("batch_size", 8), workdir=workdir,
                          fingerprint={"toy": 1}, **kw)


def test_interrupted_run_resumes_bit_identically(tmp_path):
  data, state = _problem()
  whole, log = _fit(state, data, str(tmp_path / "a"), 3)
  assert [r["epoch"] for r in log] == [1, 2, 3] and int(whole.step) == 3 * 6
  assert log[-1]["train_mse"] < log[0]["train_mse"]
  _fit(state, data, str(tmp_path / "b"), 2)
  resumed, log_b = _fit(state, data, str(tmp_path / "b"), 3)
  jax.tree.map(np.testing.assert_array_equal, resumed, whole)
  assert [r["train_loss"] for r in log_b] == [r["train_loss"] for r in log]
  # One jitted call a step (the adaptation trainer's XLA:CPU option) trains the same run.
  stepped, _ = _fit(state, data, None, 3, scan=False)
  chex.assert_trees_all_close(stepped, whole, rtol=1e-5, atol=1e-6)
  assert int(state.step) == 0 and np.all(np.asarray(state.params["w"]) == 0)  # not donated


def test_own_epoch_orders_per_part():
  """indices gives one order per part of the data (a source and a smaller target set)."""
  (x, y), state = _problem()
  z = np.arange(10, dtype=np.float32)
  seen = []

  def step(state, batch, key):
    (xb, _), zb = batch
    seen.append(None)  # traced once
    return state.replace(step=state.step + 1), {"loss": zb.sum() + 0 * xb.sum(),
                                                "grad_norm": jnp.zeros(())}

  orders = lambda epoch: (np.arange(8).reshape(2, 4), np.full((2, 4), epoch % 10))
  _, log = train.fit_arrays(step, state, ((x, y), z), key=jax.random.key(0), epochs=2,
                            batch_size=None, indices=orders, workdir=None, fingerprint={})
  assert [r["train_loss"] for r in log] == [4.0, 8.0] and len(seen) == 1


def test_divergence_stops_and_keeps_the_finite_checkpoint(tmp_path):
  data, state = _problem()

  def nan_after(state, batch, key):  # finite for the first epoch's 6 steps, then NaN
    new, metrics = STEP(state, batch, key)
    return new, {**metrics, "loss": jnp.where(state.step >= 6, jnp.nan, metrics["loss"])}

  with pytest.raises(train.TrainingDivergedError, match="epoch 2.*from step 6.*epoch 1"):
    train.fit_arrays(nan_after, state, data, key=jax.random.key(0), epochs=3, batch_size=8,
                     workdir=str(tmp_path), fingerprint={}, learning_rate=0.05)
  assert (tmp_path / "checkpoints" / "1").is_dir()
  assert not (tmp_path / "checkpoints" / "2").exists()


def test_bad_arguments_are_named():
  (x, y), state = _problem(8)
  kw = dict(key=jax.random.key(0), epochs=1, workdir=None, fingerprint={})
  with pytest.raises(ValueError, match="batch_size=16 exceeds the 8 examples"):
    train.fit_arrays(STEP, state, (x, y), batch_size=16, **kw)
  with pytest.raises(ValueError, match="leading"):
    train.fit_arrays(STEP, state, (x, y[:7]), batch_size=4, **kw)
  with pytest.raises(ValueError, match="exactly one of batch_size"):
    train.fit_arrays(STEP, state, (x, y), batch_size=4, indices=lambda e: np.zeros((1, 4)),
                     **kw)
  with pytest.raises(TypeError, match="step counter"):
    train.fit_arrays(STEP, state.params, (x, y), batch_size=4, **kw)
  with pytest.raises(ValueError, match="epochs"):
    train.fit_arrays(STEP, state, (x, y), batch_size=4, **{**kw, "epochs": -1})
  with pytest.raises(TypeError, match="step must be a function"):
    train.fit_arrays("adam", state, (x, y), batch_size=4, **kw)
