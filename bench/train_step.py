r"""PGD-AT train step and PGD attack against their physical limit.

A k-step PGD attack cannot beat k input-gradient passes; a PGD-AT step cannot
beat k input-gradient passes plus one weight-gradient pass. The ratio
(measured / limit) is the overhead of our loop, projection and bookkeeping
(1.0 is ideal). Each pass is timed alone, side by side in the same run.

  python -m bench.train_step [--batch_size=100] [--steps=10] [--out=bench/results]
"""

from __future__ import annotations

from absl import app, flags

import jax
import jax.numpy as jnp
import optax

from bench import _timing
from jaxrobust import attacks, data, defenses, models, train
from jaxrobust.losses import cross_entropy


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so `python -m bench` can import every bench."""
  flags.DEFINE_integer("batch_size", 100, "Examples per step.")
  flags.DEFINE_integer("steps", 10, "PGD iterations.")
  flags.DEFINE_string("out", "bench/results", "Directory for the JSON results.")
  flags.DEFINE_list("models", ["small_cnn", "mlp"], "Models to bench.")


FLAGS = flags.FLAGS


def bench_model(name: str, batch: int, steps: int, repeats: int = 10) -> dict:
  ds = data.load("mnist5k", "train")
  model = models.make(name, num_classes=10, mean=ds.info.mean, std=ds.info.std)
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

  compile_step = _timing.first_call_seconds(
      lambda: step(state, (images, labels), jax.random.key(0))[1])
  compile_attack = _timing.first_call_seconds(lambda: attack(x, jax.random.key(0)))
  t = _timing.interleaved_median_seconds({
      "gx": lambda: grad_x(x), "gw": lambda: grad_w(state.params),
      "attack": lambda: attack(x, jax.random.key(0)),
      "step": lambda: step(state, (images, labels), jax.random.key(0))[1]}, repeats)
  t_gx, t_gw, t_attack, t_step = t["gx"], t["gw"], t["attack"], t["step"]
  return {
      "compile_attack_s": compile_attack, "compile_step_s": compile_step,
      "model": name, "batch": batch, "steps": steps,
      "input_grad_ms": 1e3 * t_gx, "weight_grad_ms": 1e3 * t_gw,
      "pgd_ms": 1e3 * t_attack, "pgd_vs_limit": t_attack / (steps * t_gx),
      "pgd_at_step_ms": 1e3 * t_step,
      "pgd_at_vs_limit": t_step / (steps * t_gx + t_gw),
      "examples_per_s": batch / t_step,
  }


def rows(quick: bool) -> list[dict]:
  """The `python -m bench` rows: PGD-10 and the PGD-AT step against their limits (no peer)."""
  out = []
  for name in (["small_cnn"] if quick else ["small_cnn", "mlp"]):
    r = bench_model(name, 100, 10, repeats=5 if quick else 10)
    out.append(_timing.row(
        "train_step", f"PGD-10 Linf ({name}, batch 100)", r["pgd_ms"] / 1e3,
        limit_ratio=r["pgd_vs_limit"], compile_s=r["compile_attack_s"], passes_ours=10,
        note="limit: 10 input-gradient passes"))
    out.append(_timing.row(
        "train_step", f"PGD-AT step, PGD-10 ({name}, batch 100)", r["pgd_at_step_ms"] / 1e3,
        limit_ratio=r["pgd_at_vs_limit"], compile_s=r["compile_step_s"], passes_ours=11,
        note="limit: 10 input-gradient passes + 1 weight-gradient pass"))
  return out


def main(argv):
  del argv
  rows = [bench_model(m, FLAGS.batch_size, FLAGS.steps) for m in FLAGS.models]
  _timing.print_table(rows, ["model", "batch", "steps", "input_grad_ms", "weight_grad_ms",
                             "pgd_ms", "pgd_vs_limit", "pgd_at_step_ms", "pgd_at_vs_limit",
                             "examples_per_s"])
  print("wrote", _timing.write_results("train_step", rows, FLAGS.out))


if __name__ == "__main__":
  define_flags()
  app.run(main)
