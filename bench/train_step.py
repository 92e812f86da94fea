r"""PGD-AT train step and PGD attack against their physical limit.

A k-step PGD attack cannot beat k input-gradient passes; a PGD-AT step cannot
beat k input-gradient passes plus one weight-gradient pass. The ratio
(measured / limit) is the overhead of our loop, projection and bookkeeping
(1.0 is ideal). Each pass is timed alone, side by side in the same run.

  python -m bench.train_step [--batch_size=100] [--steps=10] [--out=bench/results]
"""

from absl import app, flags

import jax
import jax.numpy as jnp
import optax

from bench import _timing
from jaxrobust import attacks, data, defenses, models, train
from jaxrobust.losses import cross_entropy

_BATCH = flags.DEFINE_integer("batch_size", 100, "Examples per step.")
_STEPS = flags.DEFINE_integer("steps", 10, "PGD iterations.")
_OUT = flags.DEFINE_string("out", "bench/results", "Directory for the JSON results.")
_MODELS = flags.DEFINE_list("models", ["small_cnn", "mlp"], "Models to bench.")


def bench_model(name: str, batch: int, steps: int) -> dict:
  ds = data.load("mnist5k", "train")
  model = models.create(name, num_classes=10, mean=ds.info.mean, std=ds.info.std)
  tx = optax.adam(1e-3)
  state = train.init_state(model, tx, ds.info.input_shape, jax.random.key(0))
  variables = train.variables(state)
  x = data.to_float(ds.images[:batch])
  y = jnp.asarray(ds.labels[:batch])
  logits_fn = models.as_logits_fn(model, variables)

  grad_x = jax.jit(jax.grad(lambda z: cross_entropy(logits_fn(z), y).sum()))
  grad_w = jax.jit(jax.grad(lambda p: cross_entropy(
      model.apply({"params": p}, x, train=True), y).mean()))
  pgd = attacks.PGD(eps=0.1, step_size=0.025, steps=steps)
  attack = jax.jit(lambda z, key: pgd(logits_fn, z, y, key=key))
  step = jax.jit(train.make_train_step(
      model, defenses.PGDAT(attacks.PGD(eps=0.1, step_size=0.025, steps=steps)), tx))
  images, labels = ds.images[:batch], ds.labels[:batch]

  t_gx = _timing.median_seconds(lambda: grad_x(x))
  t_gw = _timing.median_seconds(lambda: grad_w(state.params))
  t_attack = _timing.median_seconds(lambda: attack(x, jax.random.key(0)))
  t_step = _timing.median_seconds(lambda: step(state, (images, labels), jax.random.key(0))[1])
  return {
      "model": name, "batch": batch, "steps": steps,
      "input_grad_ms": 1e3 * t_gx, "weight_grad_ms": 1e3 * t_gw,
      "pgd_ms": 1e3 * t_attack, "pgd_vs_limit": t_attack / (steps * t_gx),
      "pgd_at_step_ms": 1e3 * t_step,
      "pgd_at_vs_limit": t_step / (steps * t_gx + t_gw),
      "examples_per_s": batch / t_step,
  }


def main(argv):
  del argv
  rows = [bench_model(m, _BATCH.value, _STEPS.value) for m in _MODELS.value]
  _timing.print_table(rows, ["model", "batch", "steps", "input_grad_ms", "weight_grad_ms",
                             "pgd_ms", "pgd_vs_limit", "pgd_at_step_ms", "pgd_at_vs_limit",
                             "examples_per_s"])
  print("wrote", _timing.write_results("train_step", rows, _OUT.value))


if __name__ == "__main__":
  app.run(main)
