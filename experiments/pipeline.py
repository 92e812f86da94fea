"""The glue shared by the experiment binaries: their one `main` (`report_main`,
`start`: flags, config checks, one-line user errors), train, evaluate, report."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
from typing import Any, Callable, Iterator, NoReturn, Sequence

import jax
import ml_collections
from absl import app, flags, logging
from ml_collections import config_flags

from jaxrobust import _checks, data, distributed, eval as jr_eval, train
from jaxrobust.eval import evaluation, suite as jr_suite

_REPORT_KEY = 7  # fold_in tag of the final evaluation stream

# What a user can fix: bad config values or names, a bad flag, a missing data
# folder or workdir (exit status 2), and a diverged run or a damaged or
# mismatched checkpoint (exit status 1). Anything else keeps its traceback (a bug).
RUN_ERRORS = (train.TrainingDivergedError, train.CheckpointDamagedError,
              train.CheckpointMismatchError)
USAGE_ERRORS = (ValueError, TypeError, FileNotFoundError, NotADirectoryError, PermissionError,
                flags.Error)
USER_ERRORS = RUN_ERRORS + USAGE_ERRORS
EXIT_USAGE = 2


def fail(binary: str, message, status: int = EXIT_USAGE) -> NoReturn:
  """Ends the binary with `<binary>: error: <message>` as one line on stderr."""
  message = str(message)
  if "Traceback (most recent call last)" in message:
    # ml_collections puts a config file's own error's traceback into its message:
    # keep what it says around it and that error's last line.
    head, trace = message.split("Traceback (most recent call last)", 1)
    message = f"{head} {trace.strip().splitlines()[-1]}"
  line = " ".join(message.split())  # one line, whatever the message held
  print(f"{binary}: error: {line}", file=sys.stderr, flush=True)
  sys.exit(status)


@contextlib.contextmanager
def one_line_errors(binary: str) -> Iterator[None]:
  """Ends a binary on a user's error with one line naming it: exit status 2 for a
  usage error, 1 for a run that failed (diverged, damaged checkpoint).
  JAXROBUST_TRACEBACK=1 keeps the traceback."""
  try:
    yield
  except USER_ERRORS as e:
    if os.environ.get("JAXROBUST_TRACEBACK"):
      raise
    fail(binary, e, 1 if isinstance(e, RUN_ERRORS) else EXIT_USAGE)


def _unknown_field(error: BaseException, argv: Sequence[str]) -> str | None:
  """The one-line message of ml_collections' error for an override of a field the
  config lacks (an AttributeError of a KeyError "'name'\nDid you mean ..."), else None."""
  while error.args and isinstance(error.args[0], BaseException):
    error = error.args[0]
  text = str(error.args[0]) if error.args else ""
  name, _, hint = text.partition("\n")
  name = name.strip("\"'")
  overrides = [a.lstrip("-").split("=", 1)[0] for a in argv
               if re.match(r"^--?(no)?config\.", a)]
  for field in overrides:
    parts = field.removeprefix("no").split(".")
    if name in parts[1:]:
      return (f"unknown config field {'.'.join(parts)} (--{field}): the config has no "
              f"field {name!r}. {hint}").strip()
  return None


def _config_load_error(flag_values) -> str | None:
  """ml_collections keeps a --config file that failed to load as a placeholder that
  raises when read: its message, or None when every config flag loaded."""
  for name in flag_values:
    value = flag_values[name].value
    error = getattr(value, "_error", None) if type(value).__name__ == "_ErrorConfig" else None
    if error is not None:
      why = str(error).strip().splitlines()[-1].strip()
      return f"--{name}={flag_values[name].serialize().split('=', 1)[-1]}: cannot load it ({why})"
  return None


def parse_flags(define_flags: Callable[[], None], argv: Sequence[str]) -> list[str]:
  """absl's `flags_parser` of every binary: defines its flags, parses argv, and ends
  a bad flag, --config file or config field in one line (exit status 2).

  The flags are defined here, not at import: ml_collections reads the config file
  and the overrides of its fields (--config.epochs=3) while the flag is defined."""
  binary = f"experiments.{os.path.splitext(os.path.basename(argv[0]))[0]}"
  try:
    define_flags()
    rest = flags.FLAGS(list(argv))
    message = _config_load_error(flags.FLAGS)
    if message is not None:
      raise FileNotFoundError(message)
    return rest
  except (AttributeError, KeyError) as e:  # ml_collections: a field the config lacks
    message = _unknown_field(e, argv)
    if message is None or os.environ.get("JAXROBUST_TRACEBACK"):
      raise
    fail(binary, message)
  except (flags.Error, ValueError, TypeError, OSError, SyntaxError) as e:
    if os.environ.get("JAXROBUST_TRACEBACK"):
      raise
    fail(binary, e)


def start(define_flags: Callable[[], None], main: Callable[[list[str]], None]) -> None:
  """What every binary runs as a program: absl's app.run of main with
  its flags defined and parsed by `parse_flags`."""
  app.run(main, flags_parser=functools.partial(parse_flags, define_flags))


def check_output_dir(name: str, path: str) -> None:
  """path (flag --name) is a directory or can be made one: the nearest existing
  folder on its way is a writable directory. Creates nothing."""
  if not path:
    raise ValueError(f"--{name} must name a directory, got {path!r}.")
  if os.path.exists(path):
    if not os.path.isdir(path):
      raise NotADirectoryError(f"--{name}={path} is a file, not a directory.")
    parent = path
  else:
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
      parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
      raise NotADirectoryError(f"--{name}={path} cannot be created: {parent} is a file.")
  if not os.access(parent, os.W_OK | os.X_OK):
    raise PermissionError(f"--{name}={path} is not writable: {parent} denies writing.")


def check_config(config: ml_collections.ConfigDict, *, ints: dict[str, int] | None = None,
                 reals: dict[str, dict] | None = None) -> None:
  """Checks config fields by their dotted paths before a run starts: ints
  {path: minimum} (an integer >= minimum) and reals {path: the bounds of
  `_checks.check_real`}; a field that holds a sequence (seeds, budgets) must list
  at least one value and each must pass. The errors name the field, config.<path>."""
  def each(path):
    value = config
    for part in path.split("."):
      value = value[part]
    if not isinstance(value, (list, tuple)):
      return [(f"config.{path}", value)]
    if not value:
      raise ValueError(f"config.{path} must list at least one value, got {value!r}.")
    return [(f"config.{path}[{i}]", v) for i, v in enumerate(value)]

  for path, minimum in (ints or {}).items():
    for name, value in each(path):
      _checks.check_int(name, value, minimum)
  for path, bounds in (reals or {}).items():
    for name, value in each(path):
      _checks.check_real(name, value, **bounds)


# Bounds of `check_config`'s reals.
POSITIVE = {"low": 0, "low_open": True}
NONNEGATIVE = {"low": 0}


def check_training_config(config: ml_collections.ConfigDict) -> None:
  """The sizes and rates of a `train.fit` config (experiments/configs/default.py),
  checked before any data is read."""
  check_config(config, ints={"epochs": 1, "batch_size": 1, "eval_batch_size": 1, "seed": 0},
               reals={"optimizer.learning_rate": POSITIVE,
                      "optimizer.weight_decay": NONNEGATIVE, "eval.eps": NONNEGATIVE})


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


def report_main(name: str, run: Callable[[ml_collections.ConfigDict, Any], Any],
                verbosity: int = logging.WARNING, report: str | None = "report.md",
                output_workdir: bool = True) -> Callable[[list[str]], None]:
  """The absl `main` of every binary, written once: run(FLAGS.config, FLAGS.workdir)
  with one-line errors (`one_line_errors`), then the path of its report
  (<workdir>/<report>; None prints nothing). output_workdir: --workdir is where
  the run writes, checked before the run starts (False: the binary reads it)."""
  binary = f"experiments.{name}"

  def main(argv):
    with one_line_errors(binary):
      if len(argv) > 1:
        raise ValueError(f"unexpected arguments {argv[1:]}: every setting is a --flag "
                         "or a --config.<field>.")
      logging.set_verbosity(verbosity)
      if output_workdir:
        check_output_dir("workdir", flags.FLAGS.workdir)
      run(flags.FLAGS.config, flags.FLAGS.workdir)
    if report:
      print(f"report: {os.path.join(flags.FLAGS.workdir, report)}")

  return main


def train_and_report(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Trains (resuming if possible), evaluates on the test split, writes the report.

  Returns the report written to <workdir>/report.json.
  """
  check_training_config(config)
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
