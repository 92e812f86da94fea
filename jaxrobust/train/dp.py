r"""Differentially private training (DP-SGD or DP-SAT) on the one epoch loop.

Each step Poisson-samples the training set at q = expected_batch_size / N,
pads the batch to the smallest of a few fixed sizes that holds it (binomial
quantiles up to the physical size, whose overflow probability is <= 1e-12;
the run raises if it ever overflows; `privacy.sampling.bucket_sizes`), clips
per-example gradients (ghost or vmap mode), adds Gaussian noise calibrated
by dp_accounting for the target (epsilon, delta) over the whole run, and
normalises by q * N. An epoch is round(1/q) steps in one jitted `lax.scan`.
The train state holds the step count, the accountant's only state, so a
resumed run (`driver.run_epochs`) draws the same batches and noise and
reports the same epsilon.

References:
  Abadi et al., "Deep Learning with Differential Privacy", CCS 2016.
  Park, Kim, Choi, Lee, "Differentially Private Sharpness-Aware Training", ICML 2023.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxrobust import data
from jaxrobust.attacks.pgd import madry_pgd
from jaxrobust.losses import cross_entropy
from jaxrobust.optim.dp import dp_sat, dp_sgd
from jaxrobust.privacy import accounting, sampling
from jaxrobust.privacy.adversarial import attack_preprocess
from jaxrobust.privacy.clipping import clipped_grad_sum
from jaxrobust.train._aux import with_last_aux
from jaxrobust.train.driver import run_epochs
from jaxrobust.train.loop import build_model, clean_accuracy, load_splits
from jaxrobust.train.optimizers import make_optimizer
from jaxrobust.train.state import TrainState, init_state

DP_METHODS = ("dp_sgd", "dp_sat")
# Independent streams derived from the seed (fold_in tags).
_INIT, _SAMPLE, _NOISE, _EVAL, _ATTACK = range(5)
# Padded batch sizes: binomial tail probabilities below the physical size's
# (see privacy.sampling.bucket_sizes).
DEFAULT_BUCKET_TAIL_PROBS = (0.3, 0.01)


def default_bucket_tail_probs() -> tuple[float, ...]:
  """The buckets where they pay: on CPU the bucketed step took 0.74x the padded
  step's time (bench/dp.py, MNIST, q*N = 256); on an H200 1.23x (the switch
  costs more there than the padded rows), so accelerators pad to one size."""
  return DEFAULT_BUCKET_TAIL_PROBS if jax.default_backend() == "cpu" else ()


def plan(config: ml_collections.ConfigDict, num_examples: int) -> dict:
  """Sampling rate, steps, physical batch and calibrated noise of a run."""
  q = config.expected_batch_size / num_examples
  accounting.check_sampling_prob(q)
  steps_per_epoch = max(1, round(1 / q))
  steps = config.epochs * steps_per_epoch
  sigma = accounting.calibrate_noise(config.target_epsilon, config.delta, q, steps,
                                     config.accountant)
  multiple = config.microbatch_size if config.clipping == "vmap" and config.microbatch_size else 1
  # A config without the field, or None, gets the backend's default buckets; ()
  # pads every step to the physical size (the one-size behaviour).
  tails = config.get("bucket_tail_probs")
  tails = default_bucket_tail_probs() if tails is None else tuple(tails)
  buckets = sampling.bucket_sizes(num_examples, q, tails, multiple=multiple)
  return {"sampling_prob": q, "steps_per_epoch": steps_per_epoch, "steps": steps,
          "noise_multiplier": sigma, "physical_batch_size": buckets[-1],
          "bucket_sizes": list(buckets)}


def make_dp_step(model, tx, images, labels, *, plan_, l2_clip, mode, microbatch_size,
                 preprocess=None) -> Callable[[TrainState, jax.Array], tuple[TrainState, dict]]:
  """step(state, key) -> (state, metrics): sample, clip, privatise (in tx), update.

  images [N, ...] uint8 and labels [N] live on the device; metrics are means
  over the real (unpadded) examples, plus `count`, the Poisson batch size.
  The step runs on the smallest of plan_["bucket_sizes"] (by default three
  sizes on CPU, one on accelerators; config.bucket_tail_probs=() leaves the
  physical size alone) that holds
  the count: one `lax.switch` branch per size.
  """
  n = images.shape[0]
  q, physical = plan_["sampling_prob"], plan_["physical_batch_size"]
  sizes = tuple(plan_.get("bucket_sizes") or (physical,))
  if sizes[-1] != physical or list(sizes) != sorted(set(sizes)):
    raise ValueError(f"bucket_sizes must ascend to the physical batch size {physical}, "
                     f"got {sizes}.")

  def loss_fn(params, batch):
    x, y = batch
    return cross_entropy(model.apply({"params": params}, x, train=True), y)

  def padded_step(size, state, idx, mask, attack_key):
    idx, mask = idx[:size], mask[:size]  # the count fits: every sampled index is kept
    batch = (data.to_float(images[idx]), labels[idx])

    def clipped(params):  # -> (clipped gradient sum, per-example {"loss", "norms"})
      return clipped_grad_sum(
          loss_fn, params, batch, mask, l2_clip=l2_clip, mode=mode,
          microbatch_size=microbatch_size or None, preprocess=preprocess,
          key=attack_key if preprocess is not None else None)

    # The transform calls grad_fn (DP-SAT at perturbed weights); the per-example
    # losses and norms of that call come back by value.
    (updates, opt_state), aux = with_last_aux(
        lambda grad_fn: tx.update(None, state.opt_state, state.params, grad_fn=grad_fn),
        clipped)
    real = jnp.maximum(mask.sum(), 1.0)
    # Branches must agree in shapes: only [size]-free reductions leave.
    metrics = {"loss": jnp.sum(mask * aux["loss"]) / real,
               "clipped_fraction": jnp.sum(mask * (aux["norms"] > l2_clip)) / real,
               "grad_norm": jnp.sum(mask * aux["norms"]) / real,
               # Examples whose gradient was not finite: they added zero (clipping.py).
               "nonfinite": aux["nonfinite"]}
    return optax.apply_updates(state.params, updates), opt_state, metrics

  def step(state: TrainState, key):
    sample_key, attack_key = jax.random.split(key)
    idx, mask, count = sampling.poisson_batch(sample_key, n, q, physical)
    branches = [functools.partial(padded_step, s) for s in sizes]
    params, opt_state, metrics = jax.lax.switch(
        sampling.bucket_index(count, sizes), branches, state, idx, mask, attack_key)
    return TrainState(step=state.step + 1, params=params, model_state=state.model_state,
                      opt_state=opt_state), {**metrics, "count": count}

  return step


def make_dp_epoch(step, steps_per_epoch: int, sample_key: jax.Array):
  """epoch(state, epoch) -> (state, sums, max_count, per_step [steps, 2]) as one lax.scan.

  Step s (global) uses fold_in(sample_key, s); sums add the steps' metrics in
  order; per_step holds each step's (loss, grad_norm). The caller jits it.
  """
  def epoch_fn(state, epoch):
    def body(carry, i):
      state, sums, max_count = carry
      state, metrics = step(state, jax.random.fold_in(
          sample_key, (epoch - 1) * steps_per_epoch + i))
      sums = jax.tree.map(jnp.add, sums, metrics)
      return ((state, sums, jnp.maximum(max_count, metrics["count"])),
              jnp.stack([metrics["loss"], metrics["grad_norm"]]))

    shapes = jax.eval_shape(step, state, sample_key)[1]
    zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
    (state, sums, max_count), per_step = jax.lax.scan(
        body, (state, zeros, jnp.zeros((), shapes["count"].dtype)),
        jnp.arange(steps_per_epoch))
    return state, sums, max_count, per_step

  return epoch_fn


def fit_dp(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """Runs (or resumes) one DP run in workdir; returns and writes its report.json.

  config: see experiments/configs/dp_mnist.py (method, target_epsilon, delta,
  epochs, expected_batch_size, l2_clip, clipping, adversarial, optimizer ...).
  """
  if config.method not in DP_METHODS:
    raise ValueError(f"Unknown method {config.method!r}; valid choices: {DP_METHODS}.")
  train_ds, test_ds = load_splits(config)
  info = train_ds.info
  p = plan(config, len(train_ds.labels))
  model = build_model(config, info)
  key = jax.random.key(config.seed)
  args = (config.l2_clip, p["noise_multiplier"], config.expected_batch_size,
          jax.random.fold_in(key, _NOISE))
  private = dp_sat(config.rho, *args) if config.method == "dp_sat" else dp_sgd(*args)
  tx = optax.chain(private, make_optimizer(config.optimizer, p["steps"]))
  state = init_state(model, tx, info.input_shape, jax.random.fold_in(key, _INIT))
  if state.model_state:
    raise ValueError("DP training needs a model without BatchNorm (it mixes examples): "
                     f"got collections {list(state.model_state)}.")
  preprocess = None
  adv = config.adversarial
  if adv.eps > 0:
    attack = madry_pgd(eps=adv.eps, steps=adv.steps, step_size=adv.step_size or None)
    preprocess = attack_preprocess(
        attack, lambda params, x: model.apply({"params": params}, x, train=False))
  step = make_dp_step(
      model, tx, jnp.asarray(train_ds.images), jnp.asarray(train_ds.labels), plan_=p,
      l2_clip=config.l2_clip, mode=config.clipping, microbatch_size=config.microbatch_size,
      preprocess=preprocess)
  epoch_fn = jax.jit(make_dp_epoch(step, p["steps_per_epoch"], jax.random.fold_in(key, _SAMPLE)),
                     donate_argnums=0)

  def train_epoch(state, epoch, tick):
    state, sums, max_count, per_step = epoch_fn(state, epoch)
    tick(p["steps_per_epoch"])
    if int(max_count) > p["physical_batch_size"]:
      # Probability <= 1e-12 per step: the padded batch dropped sampled examples.
      raise RuntimeError(f"A Poisson batch of {int(max_count)} exceeded the physical "
                         f"batch size {p['physical_batch_size']}.")
    return state, sums, per_step

  acct = accounting.Accountant(p["noise_multiplier"], p["sampling_prob"], config.delta,
                               config.accountant)
  accuracy = clean_accuracy(model, test_ds, config.eval_batch_size,
                            jax.random.fold_in(key, _EVAL))
  fingerprint = json.loads(json.dumps({
      "dataset": info.name, "model": config.model.to_dict(), "method": config.method,
      "optimizer": config.optimizer.name, "seed": config.seed, "plan": p}))
  # Privacy spent is a function of the restored step count alone.
  state, history = run_epochs(
      state, train_epoch,
      lambda state, record, history: {"epsilon": acct.epsilon(record["step"]),
                                      "test_accuracy": accuracy(state)},
      workdir=workdir, fingerprint=fingerprint, epochs=p["steps"] // p["steps_per_epoch"],
      steps_per_epoch=p["steps_per_epoch"], learning_rate=config.optimizer.learning_rate,
      progress=config.progress)
  report = _report(config, p, int(state.step),
                   history[-1]["test_accuracy"] if history else None)
  with open(os.path.join(workdir, "report.json"), "w") as f:
    json.dump(report, f, indent=2)
  return report


def _report(config, p: dict, steps_done: int, test_accuracy: float | None) -> dict:
  """Epsilon spent by steps_done steps under both accountants, with the run's plan."""
  return {
      "method": config.method, "rho": config.rho if config.method == "dp_sat" else 0.0,
      "seed": config.seed, "target_epsilon": config.target_epsilon, "delta": config.delta,
      **p, "steps_done": steps_done,
      "epsilon_rdp": accounting.epsilon(p["noise_multiplier"], p["sampling_prob"],
                                        steps_done, config.delta, "rdp"),
      "epsilon_pld": accounting.epsilon(p["noise_multiplier"], p["sampling_prob"],
                                        steps_done, config.delta, "pld"),
      "test_accuracy": test_accuracy, "config": config.to_dict()}


def summarize(reports: list[dict[str, Any]]) -> tuple[list[dict], str]:
  """Mean +- std of test accuracy per (method, epsilon); markdown table."""
  rows = []
  for eps in sorted({r["target_epsilon"] for r in reports}):
    for method in DP_METHODS:
      rs = [r for r in reports if r["method"] == method and r["target_epsilon"] == eps]
      if not rs:
        continue
      acc = np.array([r["test_accuracy"] for r in rs])
      rows.append({"method": method, "target_epsilon": eps, "seeds": len(rs),
                   "test_accuracy_mean": float(acc.mean()),
                   "test_accuracy_std": float(acc.std(ddof=1)) if len(rs) > 1 else 0.0,
                   "epsilon_rdp": max(r["epsilon_rdp"] for r in rs),
                   "epsilon_pld": max(r["epsilon_pld"] for r in rs),
                   "noise_multiplier": rs[0]["noise_multiplier"], "steps": rs[0]["steps_done"],
                   "per_seed": acc.tolist()})
  lines = ["| method | target eps | seeds | test acc (mean ± std) | eps spent (RDP) | "
           "eps spent (PLD) | sigma | steps |", "|---|---|---|---|---|---|---|---|"]
  lines += [f"| {r['method']} | {r['target_epsilon']:g} | {r['seeds']} | "
            f"{100 * r['test_accuracy_mean']:.2f} ± {100 * r['test_accuracy_std']:.2f} | "
            f"{r['epsilon_rdp']:.3f} | {r['epsilon_pld']:.3f} | {r['noise_multiplier']:.3f} | "
            f"{r['steps']} |" for r in rows]
  return rows, "\n".join(lines) + "\n"
