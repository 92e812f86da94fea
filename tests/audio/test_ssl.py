"""The self-supervised encoder: its objectives train, and bad options are named."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust.audio import ssl


def _clips(n=32, samples=2048):
  rng = np.random.default_rng(0)
  t = np.arange(samples) / 8000.0
  f = rng.uniform(200, 2000, (n, 1))
  env = np.exp(-((t - rng.uniform(0.05, 0.2, (n, 1))) / 0.05) ** 2)
  return (0.5 * env * np.sin(2 * np.pi * f * t)).astype(np.float32)


@pytest.mark.slow
def test_encoder_trains_on_the_epoch_loop_and_represents_frames(tmp_path):
  w = _clips(16, 1024)
  represent = ssl.train_encoder(w, key=jax.random.key(0), epochs=1, batch_size=8,
                                workdir=str(tmp_path))
  rep = jax.jit(represent)(jnp.asarray(w))
  assert rep.shape == (16, 1024 // 128, 64) and bool(jnp.isfinite(rep).all())
  assert (tmp_path / "checkpoints" / "1").is_dir()


def test_block_mask_zeroes_whole_blocks_at_the_rate():
  mask = np.asarray(ssl.block_mask(jax.random.key(1), 64, 1280, rate=0.3))
  assert 0.2 < 1 - mask.mean() < 0.4 and set(np.unique(mask)) <= {0.0, 1.0}
  assert np.all(mask.reshape(64, 10, 128).std(-1) == 0)  # constant within each block


@pytest.mark.slow
@pytest.mark.parametrize("objective", ssl.OBJECTIVES)
def test_objective_decreases(objective):
  w = jnp.asarray(_clips())
  key = jax.random.key(0)
  enc = ssl.WaveEncoder()
  init = enc.init(key, w[:2], method=lambda m, x: (m.embed(x), m.predict(x)))
  k = jax.random.key(5)
  if objective == "masked":
    loss = jax.jit(lambda p: ssl.masked_loss(enc, p, w, k))
  else:
    embed = lambda p, v: enc.apply(p, v, method=ssl.WaveEncoder.embed)
    loss = jax.jit(lambda p: ssl.nt_xent(embed(p, ssl.views(k, w)),
                                         embed(p, ssl.views(jax.random.fold_in(k, 1), w))))
  represent = ssl.train_encoder(w, key=key, epochs=20, batch_size=8, learning_rate=3e-3,
                                objective=objective)
  assert float(loss(represent.args[0])) < 0.8 * float(loss(init))


def test_bad_objective_and_encoder():
  w = _clips(8)
  with pytest.raises(ValueError, match="valid choices"):
    ssl.train_encoder(w, key=jax.random.key(0), objective="byol")
  with pytest.raises(ValueError, match="stride"):
    ssl.train_encoder(w, key=jax.random.key(0), encoder=ssl.WaveEncoder(frame=8))
