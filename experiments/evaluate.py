r"""Evaluates models trained by experiments/train.py: clean, attacks, AutoAttack, curve.

  python -m experiments.evaluate --workdir=runs/default
  python -m experiments.evaluate --workdir=runs/a --workdir=runs/b \
      --config=experiments/configs/evaluation/default.py --config.attacks=pgd20,autoattack

Several workdirs of one architecture are evaluated together (vmap over their
parameters). Prints a table and writes <output_dir>/evaluation.json and
robustness_curve.png (output_dir defaults to <first workdir>/evaluation):
clean accuracy, robust accuracy per attack, AutoAttack after each component
(only points still robust are attacked), the per-example worst case,
per-class accuracy, the PGD curve over eps and the gradient-masking warnings.
"""

import functools
import os

import jax
from absl import app, flags, logging
from ml_collections import config_flags

from jaxrobust import data, eval as jr_eval, train
from jaxrobust.eval import evaluation, suite as jr_suite

_CONFIG = config_flags.DEFINE_config_file(
    "config", os.path.join(os.path.dirname(__file__), "configs", "evaluation", "default.py"),
    "Evaluation configuration (ml_collections file).", lock_config=True)
_WORKDIRS = flags.DEFINE_multi_string(
    "workdir", None, "Workdir of an experiments.train run (repeat for several models).")
_EPOCH = flags.DEFINE_integer("epoch", None, "Checkpoint epoch (default: the newest).")
_OUTPUT = flags.DEFINE_string("output_dir", None,
                              "Where to write the report (default <first workdir>/evaluation).")


def run(config, workdirs, output_dir=None, epoch=None) -> list[dict]:
  """Restores the models, evaluates them, prints and writes the report."""
  if not workdirs:
    raise ValueError("pass at least one --workdir of an experiments.train run.")
  names = [n.strip() for n in config.attacks.split(",") if n.strip()]
  suite = jr_suite.build_suite(names, eps=config.eps, norm=config.norm,
                               steps=config.steps, n_queries=config.n_queries)
  runs = [train.load_trained(w, epoch, config.data_dir or None) for w in workdirs]
  for r in runs[1:]:
    if r.fingerprint["model"] != runs[0].fingerprint["model"] or (
        r.fingerprint["dataset"] != runs[0].fingerprint["dataset"]):
      raise ValueError(f"{r.workdir} is a {r.fingerprint} model but {runs[0].workdir} "
                       f"is {runs[0].fingerprint}: evaluate one architecture and "
                       "dataset at a time.")
  split = data.load(runs[0].info.name, config.split, config.data_dir or None)
  n = config.num_examples or len(split.labels)
  images, labels = split.images[:n], split.labels[:n]
  reports = evaluation.evaluate_models(
      functools.partial(runs[0].model.apply, train=False), [r.variables for r in runs],
      images, labels, num_classes=runs[0].info.num_classes, attacks=suite.attacks,
      ensembles=suite.ensembles, blackbox=suite.blackbox, norm=config.norm,
      curve_eps=tuple(config.curve.eps), curve_steps=config.curve.steps,
      diagnostics_examples=config.diagnostics.num_examples,
      huge_eps_steps=config.diagnostics.huge_eps_steps,
      key=jax.random.key(config.seed), batch_size=config.batch_size,
      progress=config.progress)
  for r, report in zip(runs, reports):
    report.update({"workdir": r.workdir, "epoch": r.epoch, "fingerprint": r.fingerprint})

  output_dir = output_dir or os.path.join(workdirs[0], "evaluation")
  os.makedirs(output_dir, exist_ok=True)
  jr_eval.write_json(os.path.join(output_dir, "evaluation.json"),
                     {"config": config.to_dict(), "models": reports})
  if config.curve.eps:
    jr_eval.plot_robustness_curves(
        {os.path.basename(os.path.normpath(r["workdir"])): r["curve"] for r in reports},
        os.path.join(output_dir, "robustness_curve.png"),
        title=f"{runs[0].info.name}, {config.norm} PGD-{config.curve.steps}")
  print(jr_eval.format_evaluation(reports, title=(
      f"{runs[0].info.name} {config.split} split ({n} examples), "
      f"{config.norm} eps={config.eps}")))
  print(f"report: {os.path.join(output_dir, 'evaluation.json')}")
  return reports


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  logging.set_verbosity(logging.WARNING)
  run(_CONFIG.value, _WORKDIRS.value, _OUTPUT.value, _EPOCH.value)


if __name__ == "__main__":
  flags.mark_flag_as_required("workdir")
  app.run(main)
