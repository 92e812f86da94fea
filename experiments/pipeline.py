"""The glue shared by the experiment binaries: train, evaluate, report."""

from __future__ import annotations

import contextlib
import functools
import os
from typing import Any, Callable, Iterator

import jax
import ml_collections
from absl import app, flags, logging
from ml_collections import config_flags

from jaxrobust import data, distributed, eval as jr_eval, train
from jaxrobust.eval import evaluation, suite as jr_suite

_REPORT_KEY = 7  # fold_in tag of the final evaluation stream

# What a user can fix: bad config values or names, a diverged run, a damaged or
# mismatched checkpoint. Anything else keeps its traceback (it is a bug).
USER_ERRORS = (ValueError, TypeError, train.TrainingDivergedError,
               train.CheckpointDamagedError, train.CheckpointMismatchError)


@contextlib.contextmanager
def one_line_errors(binary: str) -> Iterator[None]:
  """Ends a binary on a user's error with one line naming it (exit status 1);
  JAXROBUST_TRACEBACK=1 keeps the traceback."""
  try:
    yield
  except USER_ERRORS as e:
    if os.environ.get("JAXROBUST_TRACEBACK"):
      raise
    raise SystemExit(f"{binary}: {e}") from e


def eval_attacks(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """The attacks of the final report: config.eval.attacks (names as in
  `experiments.evaluate`, e.g. "pgd20,fgsm") at config.eval.eps in config.eval.norm."""
  e = config.eval
  return {name: jr_suite.make_attack(name, eps=e.eps, norm=e.norm, steps=e.steps,
                                     n_queries=e.n_queries)
          for name in attack_names(e.attacks)}


def attack_names(names) -> list[str]:
  """A comma-separated string or a sequence of names -> the list of names."""
  if isinstance(names, str):
    names = names.split(",")
  return [n.strip() for n in names if n.strip()]


# The flags defined here (define_config_flags) belong to the binary that calls
# it: they show in its --helpshort as its own.
flags.disclaim_key_flags()


def define_config_flags(config_file: str, workdir: str,
                        config_help: str = "Configuration (ml_collections file).") -> None:
  """A study binary's --config (a file of experiments/configs, locked) and --workdir."""
  config_flags.DEFINE_config_file(
      "config", os.path.join(os.path.dirname(__file__), "configs", config_file), config_help,
      lock_config=True)
  flags.DEFINE_string("workdir", workdir, "Output directory.")


def report_main(name: str, run: Callable[[ml_collections.ConfigDict, str], Any],
                verbosity: int = logging.WARNING) -> Callable[[list[str]], None]:
  """The absl `main` of a study binary: run(FLAGS.config, FLAGS.workdir) with
  one-line errors, then the path of its report.md."""

  def main(argv):
    if len(argv) > 1:
      raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    logging.set_verbosity(verbosity)
    with one_line_errors(f"experiments.{name}"):
      run(flags.FLAGS.config, flags.FLAGS.workdir)
    print(f"report: {os.path.join(flags.FLAGS.workdir, 'report.md')}")

  return main

def train_and_report(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Trains (resuming if possible), evaluates on the test split, writes the report.

  Returns the report written to <workdir>/report.json.
  """
  suite = eval_attacks(config)  # bad eval settings fail before training
  result = train.fit(config, workdir)
  report = jr_eval.robustness_report(
      result.model, train.variables(result.state), result.test.images,
      result.test.labels, suite, key=jax.random.fold_in(result.key, _REPORT_KEY),
      batch_size=config.eval_batch_size, progress=config.progress)
  last = result.history[-1]
  if result.catastrophic_overfitting is not None:
    print(f"catastrophic overfitting at epoch {result.catastrophic_overfitting}")
  report.update({
      "catastrophic_overfitting_epoch": result.catastrophic_overfitting,
      "dataset": config.dataset, "model": config.model.to_dict(),
      "defense": config.defense.to_dict(), "eval": config.eval.to_dict(),
      "epochs": config.epochs, "seed": config.seed,
      "final_train_loss": last["train_loss"],
      # PGD accuracy on the fixed train / test subsets after the last epoch
      # (config.robust_gap; absent when it is off).
      **{f"final_{k}": last[k] for k in ("robust_train_accuracy", "robust_test_accuracy",
                                          "robust_gap") if k in last},
      "train_time_s": sum(r["train_time_s"] for r in result.history),
      "devices": [str(d) for d in jax.devices()],
  })
  if not distributed.is_main_process():  # every process computed it; one writes it
    return report
  jr_eval.write_json(os.path.join(workdir, "report.json"), report)
  jr_eval.plot_training_curves(result.history, os.path.join(workdir, "training_curves.png"),
                               title=f"{config.defense.name} / {config.model.name} / "
                                     f"{config.dataset}")
  rows = {"clean": report["clean_accuracy"], **report["robust_accuracy"]}
  print(jr_eval.format_table(
      rows, title=f"{config.dataset} test split ({report['num_examples']} examples), "
                  f"eps={config.eval.eps}"))
  print(f"report: {os.path.join(workdir, 'report.json')}")
  return report


def evaluate_workdirs(config, workdirs, output_dir=None, epoch=None) -> list[dict]:
  """experiments/evaluate.py: restores train.py workdirs, evaluates them together
  (vmap over their parameters), prints the table and writes evaluation.json and
  robustness_curve.png to output_dir (default <first workdir>/evaluation)."""
  if not workdirs:
    raise ValueError("pass at least one --workdir of an experiments.train run.")
  suite = jr_suite.build_suite(attack_names(config.attacks), eps=config.eps, norm=config.norm,
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
      progress=config.progress,
      # Several devices (or hosts): each batch split over them, as training does.
      mesh=train.data_mesh() if jax.device_count() > 1 else None)
  for r, report in zip(runs, reports):
    report.update({"workdir": r.workdir, "epoch": r.epoch, "fingerprint": r.fingerprint})

  if not distributed.is_main_process():  # every process computed them; one writes them
    return reports
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
