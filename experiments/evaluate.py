r"""Evaluates models trained by experiments/train.py: clean, attacks, AutoAttack, curve.

  python -m experiments.evaluate --workdir=runs/default
  python -m experiments.evaluate --torch_checkpoint=model.pt \
      --config=experiments/configs/evaluation/torch_checkpoint.py \
      --config.model.name=wide_resnet --config.dataset=cifar10 --config.normalization=none
  python -m experiments.evaluate --zoo=Carmon2019Unlabeled --checkpoint=Carmon2019Unlabeled.pt \
      --config=experiments/configs/evaluation/zoo.py --config.data_dir=DIR
  python -m experiments.evaluate --workdir=runs/a --workdir=runs/b \
      --config=experiments/configs/evaluation/default.py --config.attacks=pgd20,autoattack

Several workdirs of one architecture are evaluated together (vmap over their
parameters). Prints a table and writes <output_dir>/evaluation.json and
robustness_curve.png (output_dir defaults to <first workdir>/evaluation):
clean accuracy, robust accuracy per attack, AutoAttack after each component
(only points still robust are attacked), the per-example worst case,
per-class accuracy, the PGD curve over eps and the gradient-masking warnings.
With --zoo, a RobustBench entry by name (jaxrobust.models.zoo) is read from
--checkpoint and the leaderboard's clean and AutoAttack accuracy print beside ours.
"""

import functools
import os

import jax
import jax.numpy as jnp
from absl import app, flags, logging
from ml_collections import config_flags

from experiments import pipeline
from jaxrobust import data, distributed, eval as jr_eval, train
from jaxrobust.eval import evaluation, suite as jr_suite
from jaxrobust.models import convert, zoo


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so tests can import several binaries."""
  distributed.define_flags()  # --coordinator_address, --num_processes, --process_id
  config_flags.DEFINE_config_file(
      "config", os.path.join(os.path.dirname(__file__), "configs", "evaluation", "default.py"),
      "Evaluation configuration (ml_collections file).", lock_config=True)
  flags.DEFINE_multi_string(
      "workdir", None, "Workdir of an experiments.train run (repeat for several models).")
  flags.DEFINE_integer("epoch", None, "Checkpoint epoch (default: the newest).")
  flags.DEFINE_string(
      "torch_checkpoint", None, "A PyTorch checkpoint (.pt/.pth/.safetensors) to evaluate "
      "instead of workdirs, imported as config.model (configs/evaluation/torch_checkpoint.py).")
  flags.DEFINE_alias("checkpoint", "torch_checkpoint")
  flags.DEFINE_string(
      "zoo", None, "A RobustBench entry (jaxrobust.models.zoo.ZOO: 'Carmon2019Unlabeled' or "
      "'cifar10/linf/Carmon2019Unlabeled') whose --checkpoint to evaluate "
      "(configs/evaluation/zoo.py).")
  flags.DEFINE_string("output_dir", None,
                      "Where to write the report (default <first workdir>/evaluation).")


FLAGS = flags.FLAGS


def add_certificates(config, workdirs, output_dir, epoch, reports) -> list[dict]:
  """Certified accuracy (config.certify.methods at config.eps) added to each report,
  evaluation.json rewritten, and the clean >= attacks >= certified check printed."""
  methods = [m.strip() for m in config.certify.methods.split(",") if m.strip()]
  for workdir, report in zip(workdirs, reports):
    run = train.load_trained(workdir, epoch, config.data_dir or None)
    split = data.load(run.info.name, config.split, config.data_dir or None)
    n = config.num_examples or len(split.labels)
    report.update(jr_eval.certified.certified_report(
        run.model, run.variables, split.images[:n], jnp.asarray(split.labels[:n]),
        eps=config.eps, norm=config.norm, methods=methods, chunk=config.certify.chunk or None))
    report["diagnostics"]["warnings"] += jr_eval.certified.order_warnings(report)
  output_dir = output_dir or os.path.join(workdirs[0], "evaluation")
  jr_eval.write_json(os.path.join(output_dir, "evaluation.json"),
                     {"config": config.to_dict(), "models": reports})
  print(jr_eval.format_evaluation(reports, title=f"with certificates ({config.norm} "
                                                 f"eps={config.eps})"))
  return reports


def parse_normalization(value: str, info) -> tuple:
  """config.normalization -> (mean, std); (None, None) reads the checkpoint's own."""
  channels = info.input_shape[-1]
  if value == "checkpoint":
    return None, None
  if value == "none":
    return (0.0,) * channels, (1.0,) * channels
  if value == "dataset":
    return tuple(info.mean), tuple(info.std)
  try:
    mean, std = ([float(v) for v in part.split(",")] for part in value.split("/"))
  except ValueError:
    raise ValueError(f"config.normalization must be checkpoint, none, dataset or "
                     f"'m1,m2,m3/s1,s2,s3', got {value!r}.") from None
  return tuple(mean), tuple(std)


def evaluate_torch_checkpoint(config, path: str, output_dir: str | None = None) -> dict:
  """--torch_checkpoint: imports `path` as config.model (jaxrobust.models.convert) for
  config.dataset and evaluates it as evaluate_workdirs does; writes evaluation.json and
  robustness_curve.png to output_dir (default <checkpoint>_evaluation)."""
  if not all(field in config for field in ("model", "dataset", "normalization")):
    raise ValueError("--torch_checkpoint needs a config with model, dataset and normalization: "
                     "--config=experiments/configs/evaluation/torch_checkpoint.py")
  split = data.load(config.dataset, config.split, config.data_dir or None)
  info = split.info
  mean, std = parse_normalization(config.normalization, info)
  options = {k: v for k, v in config.model.to_dict().items() if k != "name" and v is not None}
  model, variables = convert.load_torch_checkpoint(
      path, config.model.name, num_classes=info.num_classes, input_shape=info.input_shape,
      mean=mean, std=std, **options)
  return _evaluate_converted(config, model, variables, split, path, output_dir,
                             eps=config.eps, norm=config.norm,
                             curve_eps=tuple(config.curve.eps),
                             extra={"model": {"name": config.model.name, **options}})


def _evaluate_converted(config, model, variables, split, path: str, output_dir: str | None,
                        *, eps: float, norm: str, curve_eps: tuple, extra: dict) -> dict:
  """The evaluation of one imported model on the first config.num_examples of `split`,
  with `extra` added to its report; writes evaluation.json and robustness_curve.png to
  output_dir (default <checkpoint>_evaluation) and prints the table."""
  info = split.info
  suite = jr_suite.build_suite(pipeline.attack_names(config.attacks), eps=eps, norm=norm,
                               steps=config.steps, n_queries=config.n_queries)
  n = config.num_examples or len(split.labels)
  (report,) = evaluation.evaluate_models(
      functools.partial(model.apply, train=False), [variables], split.images[:n],
      split.labels[:n], num_classes=info.num_classes, attacks=suite.attacks,
      ensembles=suite.ensembles, blackbox=suite.blackbox, norm=norm, curve_eps=curve_eps,
      curve_steps=config.curve.steps, diagnostics_examples=config.diagnostics.num_examples,
      huge_eps_steps=config.diagnostics.huge_eps_steps,
      key=jax.random.key(config.seed), batch_size=config.batch_size, progress=config.progress)
  report.update({"workdir": path, "torch_checkpoint": path, "dataset": info.name,
                 "eps": eps, "norm": norm, "mean": list(model.mean), "std": list(model.std),
                 **extra})
  output_dir = output_dir or os.path.splitext(path)[0] + "_evaluation"
  os.makedirs(output_dir, exist_ok=True)
  jr_eval.write_json(os.path.join(output_dir, "evaluation.json"),
                     {"config": config.to_dict(), "models": [report]})
  if curve_eps:
    jr_eval.plot_robustness_curves(
        {os.path.basename(path): report["curve"]},
        os.path.join(output_dir, "robustness_curve.png"),
        title=f"{info.name}, {norm} PGD-{config.curve.steps}")
  print(jr_eval.format_evaluation([report], title=(
      f"{info.name} {config.split} split ({n} examples), {norm} eps={eps:g}")))
  print(f"report: {os.path.join(output_dir, 'evaluation.json')}")
  return report


def evaluate_zoo(config, name: str, path: str, output_dir: str | None = None) -> dict:
  """--zoo: the RobustBench entry `name` from its checkpoint at `path`, at the entry's
  threat model unless config.eps / config.norm say otherwise; the leaderboard's figures go
  into the report and print beside ours (comparable only on the whole test split at the
  entry's eps and norm, which the report's `leaderboard.comparable` says)."""
  if "sha256" not in config:
    raise ValueError("--zoo needs the zoo config: --config=experiments/configs/evaluation/zoo.py")
  # config.norm, where set, picks the leaderboard of a name that is in two ("Standard").
  threat_model = config.norm if config.norm in zoo.THREAT_MODELS else None
  model, variables, entry = zoo.load(name, path, threat_model=threat_model,
                                     sha256=config.sha256 or None)
  eps = entry.eps if config.eps is None else config.eps
  norm = entry.threat_model if config.norm is None else config.norm
  curve_eps = (tuple(config.curve.eps) if config.curve.eps is not None
               else tuple(f * eps for f in (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)))
  split = data.load(entry.dataset, config.split, config.data_dir or None)
  if tuple(split.info.input_shape) != entry.input_shape:
    raise ValueError(f"{entry.key} takes inputs of shape {entry.input_shape}, but the "
                     f"{entry.dataset} data has {tuple(split.info.input_shape)}: resize or "
                     "crop as RobustBench's preprocessing does.")
  whole = (config.num_examples or len(split.labels)) >= len(split.labels)
  leaderboard = {
      "clean_accuracy": entry.clean_accuracy / 100, "autoattack_accuracy":
      entry.autoattack_accuracy / 100, "eps": entry.eps, "norm": entry.threat_model,
      "comparable": bool(whole and norm == entry.threat_model
                         and abs(eps - entry.eps) < 1e-9 and config.split == "test")}
  report = _evaluate_converted(
      config, model, variables, split, path, output_dir, eps=eps, norm=norm,
      curve_eps=curve_eps, extra={"zoo": entry.key, "leaderboard": leaderboard,
                                  "model": {"name": entry.model, **entry.options}})
  autoattack = report["ensembles"].get("autoattack", {}).get("robust_accuracy")
  ours = f"clean {100 * report['clean_accuracy']:.2f}%" + (
      f", AutoAttack {100 * autoattack:.2f}%" if autoattack is not None else "")
  print(f"{entry.key}: ours {ours}; leaderboard clean {entry.clean_accuracy:.2f}%, "
        f"AutoAttack {entry.autoattack_accuracy:.2f}% ({norm} eps={eps:g}"
        f"{'' if leaderboard['comparable'] else '; not the leaderboard setting'})")
  return report


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  logging.set_verbosity(logging.WARNING)
  with pipeline.one_line_errors("experiments.evaluate"):
    distributed.initialize_from_flags(FLAGS)  # first: before any other JAX call
    if FLAGS.zoo:
      if not FLAGS.torch_checkpoint:
        raise ValueError("--zoo needs --checkpoint=PATH: the entry's weights (nothing is "
                         "downloaded).")
      evaluate_zoo(FLAGS.config, FLAGS.zoo, FLAGS.torch_checkpoint, FLAGS.output_dir)
      return
    if FLAGS.torch_checkpoint:
      evaluate_torch_checkpoint(FLAGS.config, FLAGS.torch_checkpoint, FLAGS.output_dir)
      return
    reports = pipeline.evaluate_workdirs(FLAGS.config, FLAGS.workdir, FLAGS.output_dir,
                                         FLAGS.epoch)
    if FLAGS.config.certify.methods:
      add_certificates(FLAGS.config, FLAGS.workdir, FLAGS.output_dir, FLAGS.epoch, reports)


if __name__ == "__main__":
  define_flags()
  flags.mark_flags_as_mutual_exclusive(["workdir", "torch_checkpoint"], required=True)
  flags.mark_flags_as_mutual_exclusive(["workdir", "zoo"])
  app.run(main)
