r"""Certified robustness next to attacks: standard, PGD-AT, IBP and CROWN-IBP small CNNs.

  python -m experiments.certified --workdir=runs/certified
  python -m experiments.certified --workdir=/tmp/c --config=experiments/configs/certified.py:tiny

Trains each model of config.defenses on mnist5k (IBP / CROWN-IBP with their
eps ramp on the global step), then evaluates clean, PGD-20 and AutoAttack
accuracy and certified accuracy (IBP and CROWN bounds) at eps 0.1 with the
time per bound method, and the curves over eps. Writes <workdir>/results.json,
results.md and curves.png; each model's training run lives in
<workdir>/<defense>/ (resumable).

References:
  Gowal et al., "On the Effectiveness of Interval Bound Propagation for
  Training Verifiably Robust Models", 2018 (full MNIST, large CNN: 2.23%
  verified error at eps 0.1, 8.05% at 0.3); Zhang et al., CROWN-IBP, ICLR 2020.
"""

from __future__ import annotations

import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags

from experiments import pipeline
from experiments.configs import certified as certified_config
from jaxrobust import attacks, certify, data, train
from jaxrobust.eval import EnsembleEvaluator, Evaluator, certified as eval_certified, suite

PUBLISHED = ("Gowal et al. 2018, IBP, full MNIST (60k), large CNN: verified error 2.23% "
             "at eps 0.1 (97.77% certified), 8.05% at eps 0.3")


def define_flags() -> None:
  pipeline.define_config_flags("certified.py", "runs/certified",
                               "Certified-robustness configuration (ml_collections file).")


FLAGS = flags.FLAGS


def evaluate_model(config, model, variables, test) -> dict:
  """Clean, PGD, AutoAttack and certified accuracy at config.eval.eps, and the curves."""
  e = config.eval
  n = e.num_examples or len(test.labels)
  images, labels = test.images[:n], np.asarray(test.labels[:n])
  apply_fn = lambda v, x: model.apply(v, x, train=False)
  key = jax.random.key(config.seed)
  pgd_name = f"pgd{e.pgd_steps}"
  attack_suite = suite.build_suite([pgd_name, "autoattack"], eps=e.eps, norm=e.norm,
                                   steps=e.autoattack_steps, n_queries=e.autoattack_queries)
  tic = time.perf_counter()
  correct = Evaluator(apply_fn, {"clean": None, **attack_suite.attacks},
                      config.eval_batch_size).correct(variables, images, labels, key=key)
  attack_time = time.perf_counter() - tic
  tic = time.perf_counter()
  aa = EnsembleEvaluator(apply_fn, attack_suite.ensembles["autoattack"],
                         config.eval_batch_size).correct(variables, images, labels,
                                                         key=jax.random.fold_in(key, 1))
  aa_time = time.perf_counter() - tic
  methods = pipeline.attack_names(e.methods)
  cert = eval_certified.certified_report(model, variables, images, labels, eps=e.eps,
                                         norm=e.norm, methods=methods, chunk=e.chunk or None)
  # Cross-check: no attack breaks a certified point.
  broken = {m: int(np.sum(np.asarray(c) & ~(correct[pgd_name] & aa["robust"])))
            for m, c in cert["certified"].items()}
  report = {"clean": float(correct["clean"].mean()), pgd_name: float(correct[pgd_name].mean()),
            "autoattack": float(aa["robust"].mean()), "worst_case": float(
                (correct[pgd_name] & aa["robust"]).mean()),
            "certified": cert["certified_accuracy"], "certify_time_s": cert["certified_time_s"],
            "attack_time_s": {pgd_name: attack_time, "autoattack": aa_time},
            "certified_but_broken": broken, "num_examples": int(n)}
  report["curve"] = curves(config, model, variables, test)
  return report


def curves(config, model, variables, test) -> dict:
  """PGD and certified accuracy over config.curve.eps on the first curve.num_examples points."""
  c, e = config.curve, config.eval
  n = c.num_examples
  x, y = data.to_float(jnp.asarray(test.images[:n])), jnp.asarray(test.labels[:n])
  eps = np.asarray(c.eps, np.float32)
  logits_fn = lambda z: model.apply(variables, z, train=False)
  pgd = attacks.PGD(eps=float(eps.max()), step_size=float(eps.max()) / 4, steps=e.pgd_steps,
                    norm=e.norm)
  curve = jax.jit(lambda x, y: attacks.robust_accuracy_curve(
      pgd, logits_fn, x, y, eps=eps, key=jax.random.key(0)))
  out = {"eps": eps.tolist(), f"pgd{e.pgd_steps}": np.asarray(curve(x, y)).tolist()}
  net = certify.network(model, variables, x.shape[1:])
  for m in pipeline.attack_names(e.methods):
    f = jax.jit(lambda x, y, m=m: certify.certified_curve(net, x, y, eps, norm=e.norm, method=m,
                                                          chunk=e.chunk or None))
    out[m] = np.asarray(f(x, y)).tolist()
  return out


def write_outputs(workdir: str, config, reports: dict, wall_s: float) -> str:
  """results.json, results.md (the table) and curves.png."""
  e = config.eval
  pgd = f"pgd{e.pgd_steps}"
  methods = pipeline.attack_names(e.methods)
  lines = [f"# Certified robustness, {config.dataset}, {e.norm} eps={e.eps}, "
           f"{next(iter(reports.values()))['num_examples']} test points", "",
           "| model | clean | " + pgd.upper() + " | AutoAttack | " +
           " | ".join(f"certified ({m})" for m in methods) + " | " +
           " | ".join(f"time {m} (s)" for m in methods) + " |",
           "|" + "---|" * (4 + 2 * len(methods))]
  for name, r in reports.items():
    cells = [f"{100 * r['clean']:.1f}", f"{100 * r[pgd]:.1f}", f"{100 * r['autoattack']:.1f}"]
    cells += [f"{100 * r['certified'][m]:.1f}" for m in methods]
    cells += [f"{r['certify_time_s'][m]:.2f}" for m in methods]
    lines.append(f"| {name} | " + " | ".join(cells) + " |")
  lines += ["", f"Published: {PUBLISHED}.", f"Wall time: {wall_s:.0f} s."]
  table = "\n".join(lines) + "\n"
  with open(os.path.join(workdir, "results.md"), "w") as f:
    f.write(table)
  with open(os.path.join(workdir, "results.json"), "w") as f:
    json.dump({"config": config.to_dict(), "models": reports, "wall_time_s": wall_s,
               "published": PUBLISHED}, f, indent=2)
  plot_curves(reports, os.path.join(workdir, "curves.png"), pgd, methods, e.norm)
  return table


def plot_curves(reports: dict, path: str, pgd: str, methods, norm: str) -> None:
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  fig, axes = plt.subplots(1, len(reports), figsize=(4 * len(reports), 3.4), squeeze=False)
  for ax, (name, r) in zip(axes[0], reports.items()):
    c = r["curve"]
    for key, style in [(pgd, "-o")] + [(m, "--s") for m in methods]:
      ax.plot(c["eps"], c[key], style, label=key.upper() if key == pgd else f"certified ({key})")
    ax.set_title(name)
    ax.set_xlabel(f"{norm} eps")
    ax.set_ylim(0, 1)
  axes[0][0].set_ylabel("accuracy")
  axes[0][0].legend()
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def check_config(config) -> None:
  """Bad names, sizes and budgets fail before any model trains."""
  for name in pipeline.attack_names(config.defenses):
    certified_config.defense_section(config, name, steps_per_epoch=1)
  pipeline.check_config(config, ints={
      "epochs": 1, "batch_size": 1, "eval_batch_size": 1, "eval.num_examples": 1,
      "eval.pgd_steps": 1, "eval.chunk": 0, "curve.num_examples": 1,
      "certified_training.warmup_epochs": 0, "certified_training.ramp_epochs": 0},
      reals={"eval.eps": pipeline.NONNEGATIVE, "certified_training.eps": pipeline.NONNEGATIVE,
             "curve.eps": pipeline.NONNEGATIVE})


def run(config, workdir: str) -> dict:
  check_config(config)
  tic = time.perf_counter()
  os.makedirs(workdir, exist_ok=True)
  reports = {}
  for name in pipeline.attack_names(config.defenses):
    # train.fit gives IBP / CROWN-IBP their eps ramp at every global step (defense.at_step).
    fit = train.fit(certified_config.training_config(config, name), os.path.join(workdir, name))
    reports[name] = evaluate_model(config, fit.model, train.variables(fit.state), fit.test)
    # After every model: a long run that is stopped keeps the models done so far.
    table = write_outputs(workdir, config, reports, time.perf_counter() - tic)
  print(table, flush=True)
  return reports


main = pipeline.report_main("certified", run, report=None)


if __name__ == "__main__":
  pipeline.start(define_flags, main)
