r"""Differentially private training (DP-SGD or DP-SAT) on mnist5k, with exact resume.

One run:
  python -m experiments.dp_train --config=experiments/configs/dp_mnist.py \
      --config.method=dp_sat --config.target_epsilon=2 --workdir=runs/dp/sat_e2
A sweep (each cell its own resumable sub-workdir, then a table):
  python -m experiments.dp_train --workdir=runs/dp --methods=dp_sgd,dp_sat \
      --epsilons=1,2,3 --seeds=0,1,2

Each step Poisson-samples the training set at q = expected_batch_size / N,
pads the batch to a fixed physical size (overflow probability <= 1e-12;
the run raises if it ever happens), clips per-example gradients (ghost or
vmap mode), adds Gaussian noise calibrated by dp_accounting for the target
(epsilon, delta) over the whole run, and normalises by q * N. The train
state (with the step count, which is the accountant's only state) is
checkpointed every epoch (round(1/q) steps); a killed run resumes bit-exactly
and reports the same epsilon. Writes metrics.jsonl, checkpoints/ and
report.json per run; a sweep writes dp_results.json and dp_results.md.

References:
  Abadi et al., "Deep Learning with Differential Privacy", CCS 2016.
  Park, Kim, Choi, Lee, "Differentially Private Sharpness-Aware Training", ICML 2023.
"""

from __future__ import annotations

import functools
import json
import os
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from absl import app, flags, logging
from ml_collections import config_flags

from jaxrobust import data, models
from jaxrobust.attacks.pgd import PGD
from jaxrobust.eval.evaluator import Evaluator
from jaxrobust.losses import cross_entropy
from jaxrobust.optim.dp import dp_sat, dp_sgd
from jaxrobust.privacy import accounting, sampling
from jaxrobust.privacy.adversarial import attack_preprocess
from jaxrobust.privacy.clipping import clipped_grad_sum
from jaxrobust.train.checkpoint import Checkpointer
from jaxrobust.train.metrics import MetricsLog
from jaxrobust.train.optimizers import make_optimizer
from jaxrobust.train.state import TrainState, init_state


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so tests can import several binaries."""
  config_flags.DEFINE_config_file(
      "config", os.path.join(os.path.dirname(__file__), "configs", "dp_mnist.py"),
      "DP training configuration (ml_collections file).", lock_config=True)
  flags.DEFINE_string("workdir", "runs/dp", "Output directory.")
  flags.DEFINE_list("methods", [], "Sweep: methods (dp_sgd, dp_sat).")
  flags.DEFINE_list("epsilons", [], "Sweep: target epsilons.")
  flags.DEFINE_list("seeds", [], "Sweep: seeds.")


FLAGS = flags.FLAGS

METHODS = ("dp_sgd", "dp_sat")
_INIT, _SAMPLE, _NOISE, _EVAL, _ATTACK = range(5)


def plan(config, num_examples: int) -> dict:
  """Sampling rate, steps, physical batch and calibrated noise of a run."""
  q = config.expected_batch_size / num_examples
  accounting.check_sampling_prob(q)
  steps_per_epoch = max(1, round(1 / q))
  steps = config.epochs * steps_per_epoch
  sigma = accounting.calibrate_noise(config.target_epsilon, config.delta, q, steps,
                                     config.accountant)
  return {"sampling_prob": q, "steps_per_epoch": steps_per_epoch, "steps": steps,
          "noise_multiplier": sigma,
          "physical_batch_size": sampling.physical_batch_size(num_examples, q)}


def make_dp_step(model, tx, images, labels, *, plan_, l2_clip, mode, microbatch_size,
                 preprocess=None):
  """step(state, key) -> (state, metrics): sample, clip, privatise (in tx), update."""
  n = images.shape[0]
  q, physical = plan_["sampling_prob"], plan_["physical_batch_size"]

  def loss_fn(params, batch):
    x, y = batch
    return cross_entropy(model.apply({"params": params}, x, train=True), y)

  def step(state: TrainState, key):
    sample_key, attack_key = jax.random.split(key)
    idx, mask, count = sampling.poisson_batch(sample_key, n, q, physical)
    batch = (data.to_float(images[idx]), labels[idx])
    aux = {}

    def grad_fn(params):
      total, out = clipped_grad_sum(
          loss_fn, params, batch, mask, l2_clip=l2_clip, mode=mode,
          microbatch_size=microbatch_size or None, preprocess=preprocess,
          key=attack_key if preprocess is not None else None)
      aux.update(out)
      return total

    updates, opt_state = tx.update(None, state.opt_state, state.params, grad_fn=grad_fn)
    real = jnp.maximum(mask.sum(), 1.0)
    metrics = {"loss": jnp.sum(mask * aux["loss"]) / real,
               "clipped_fraction": jnp.sum(mask * (aux["norms"] > l2_clip)) / real,
               "grad_norm": jnp.sum(mask * aux["norms"]) / real,
               "count": count}
    return TrainState(step=state.step + 1, params=optax.apply_updates(state.params, updates),
                      model_state=state.model_state, opt_state=opt_state), metrics

  return step


def train(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """Runs (or resumes) one DP run; returns and writes its report."""
  if config.method not in METHODS:
    raise ValueError(f"Unknown method {config.method!r}; valid choices: {METHODS}.")
  train_ds = data.load(config.dataset, "train", config.data_dir or None)
  test_ds = data.load(config.dataset, "test", config.data_dir or None)
  info = train_ds.info
  n = len(train_ds.labels)
  p = plan(config, n)
  model = models.create(config.model.name, num_classes=info.num_classes, mean=info.mean,
                        std=info.std, **{k: v for k, v in config.model.items() if k != "name"})
  key = jax.random.key(config.seed)
  noise_key = jax.random.fold_in(key, _NOISE)
  args = (config.l2_clip, p["noise_multiplier"], config.expected_batch_size, noise_key)
  private = (dp_sat(config.rho, *args) if config.method == "dp_sat" else dp_sgd(*args))
  tx = optax.chain(private, make_optimizer(config.optimizer, p["steps"]))
  state = init_state(model, tx, info.input_shape, jax.random.fold_in(key, _INIT))
  if state.model_state:
    raise ValueError("DP training needs a model without BatchNorm (it mixes examples): "
                     f"got collections {list(state.model_state)}.")
  preprocess = None
  adv = config.adversarial
  if adv.eps > 0:
    attack = PGD(eps=adv.eps, step_size=adv.step_size or 2.5 * adv.eps / adv.steps,
                 steps=adv.steps)
    preprocess = attack_preprocess(
        attack, lambda params, x: model.apply({"params": params}, x, train=False))

  os.makedirs(workdir, exist_ok=True)
  fingerprint = json.loads(json.dumps({
      "dataset": info.name, "model": config.model.to_dict(), "method": config.method,
      "optimizer": config.optimizer.name, "seed": config.seed, "plan": p}))
  checkpoints = Checkpointer(workdir, fingerprint)
  log = MetricsLog(workdir)
  start = checkpoints.newest_intact_epoch() or 0
  if start:
    state, _ = checkpoints.restore(start, state)
  log.truncate(start)
  acct = accounting.Accountant(p["noise_multiplier"], p["sampling_prob"], config.delta,
                               config.accountant)
  step = jax.jit(make_dp_step(
      model, tx, jnp.asarray(train_ds.images), jnp.asarray(train_ds.labels), plan_=p,
      l2_clip=config.l2_clip, mode=config.clipping, microbatch_size=config.microbatch_size,
      preprocess=preprocess), donate_argnums=0)
  evaluator = Evaluator(functools.partial(model.apply, train=False), {"clean": None},
                        config.eval_batch_size)
  sample_key = jax.random.fold_in(key, _SAMPLE)
  epochs = p["steps"] // p["steps_per_epoch"]
  for epoch in range(start + 1, epochs + 1):
    tic = time.perf_counter()
    sums, max_count = None, 0
    for i in range(p["steps_per_epoch"]):
      global_step = (epoch - 1) * p["steps_per_epoch"] + i
      state, metrics = step(state, jax.random.fold_in(sample_key, global_step))
      sums = metrics if sums is None else jax.tree.map(jnp.add, sums, metrics)
      max_count = jnp.maximum(max_count, metrics["count"])
    if int(max_count) > p["physical_batch_size"]:
      # Probability <= 1e-12 per step: the padded batch dropped sampled examples.
      raise RuntimeError(f"A Poisson batch of {int(max_count)} exceeded the physical "
                         f"batch size {p['physical_batch_size']}.")
    record = {"epoch": epoch, "step": int(state.step)}
    record.update({f"train_{k}": float(v) / p["steps_per_epoch"] for k, v in sums.items()})
    record["epsilon"] = acct.epsilon(int(state.step))
    record["train_time_s"] = time.perf_counter() - tic
    record["test_accuracy"] = evaluator({"params": state.params}, test_ds.images,
                                        test_ds.labels, key=jax.random.fold_in(key, _EVAL))["clean"]
    log.write(record)
    checkpoints.save(epoch, state)
    if config.progress:
      print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in record.items()), flush=True)
  checkpoints.wait()
  checkpoints.close()
  steps_done = int(state.step)
  report = {
      "method": config.method, "rho": config.rho if config.method == "dp_sat" else 0.0,
      "seed": config.seed, "target_epsilon": config.target_epsilon, "delta": config.delta,
      **p, "steps_done": steps_done,
      "epsilon_rdp": accounting.epsilon(p["noise_multiplier"], p["sampling_prob"],
                                        steps_done, config.delta, "rdp"),
      "epsilon_pld": accounting.epsilon(p["noise_multiplier"], p["sampling_prob"],
                                        steps_done, config.delta, "pld"),
      "test_accuracy": log.records()[-1]["test_accuracy"] if log.records() else None,
      "config": config.to_dict()}
  with open(os.path.join(workdir, "report.json"), "w") as f:
    json.dump(report, f, indent=2)
  return report


def summarize(reports: list[dict]) -> tuple[list[dict], str]:
  """Mean +- std of test accuracy per (method, epsilon); markdown table."""
  rows = []
  for eps in sorted({r["target_epsilon"] for r in reports}):
    for method in METHODS:
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


def sweep(base: ml_collections.ConfigDict, workdir: str, methods, epsilons, seeds) -> None:
  reports = []
  for seed in seeds:
    for eps in epsilons:
      for method in methods:
        cfg = ml_collections.ConfigDict(base.to_dict())
        cfg.method, cfg.target_epsilon, cfg.seed = method, float(eps), int(seed)
        cell = os.path.join(workdir, f"{method}_eps{eps}_seed{seed}")
        path = os.path.join(cell, "report.json")
        if os.path.exists(path):
          with open(path) as f:
            reports.append(json.load(f))
        else:
          reports.append(train(cfg, cell))
        rows, table = summarize(reports)
        with open(os.path.join(workdir, "dp_results.json"), "w") as f:
          json.dump({"rows": rows, "runs": [{k: v for k, v in r.items() if k != "config"}
                                            for r in reports],
                     "config": base.to_dict()}, f, indent=2)
        with open(os.path.join(workdir, "dp_results.md"), "w") as f:
          f.write(table)
        print(table, flush=True)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  logging.set_verbosity(logging.WARNING)
  if FLAGS.methods or FLAGS.epsilons or FLAGS.seeds:
    sweep(FLAGS.config, FLAGS.workdir, FLAGS.methods or list(METHODS),
          FLAGS.epsilons or ["1", "2", "3"], FLAGS.seeds or ["0"])
  else:
    print(json.dumps({k: v for k, v in train(FLAGS.config, FLAGS.workdir).items()
                      if k != "config"}, indent=2))


if __name__ == "__main__":
  define_flags()
  app.run(main)
