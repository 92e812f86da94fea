r"""Evaluates models trained by experiments/train.py: clean, attacks, AutoAttack, curve.

  python -m experiments.evaluate --workdir=runs/default
  python -m experiments.evaluate --torch_checkpoint=model.pt \
      --config=experiments/configs/evaluation/torch_checkpoint.py \
      --config.model.name=wide_resnet --config.dataset=cifar10 --config.normalization=none
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
import jax.numpy as jnp
from absl import app, flags, logging
from ml_collections import config_flags

from experiments import pipeline
from jaxrobust import data, distributed, eval as jr_eval, train
from jaxrobust.eval import evaluation, suite as jr_suite
from jaxrobust.models import convert


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
  suite = jr_suite.build_suite(pipeline.attack_names(config.attacks), eps=config.eps,
                               norm=config.norm, steps=config.steps, n_queries=config.n_queries)
  split = data.load(config.dataset, config.split, config.data_dir or None)
  info = split.info
  mean, std = parse_normalization(config.normalization, info)
  options = {k: v for k, v in config.model.to_dict().items() if k != "name" and v is not None}
  model, variables = convert.load_torch_checkpoint(
      path, config.model.name, num_classes=info.num_classes, input_shape=info.input_shape,
      mean=mean, std=std, **options)
  n = config.num_examples or len(split.labels)
  (report,) = evaluation.evaluate_models(
      functools.partial(model.apply, train=False), [variables], split.images[:n],
      split.labels[:n], num_classes=info.num_classes, attacks=suite.attacks,
      ensembles=suite.ensembles, blackbox=suite.blackbox, norm=config.norm,
      curve_eps=tuple(config.curve.eps), curve_steps=config.curve.steps,
      diagnostics_examples=config.diagnostics.num_examples,
      huge_eps_steps=config.diagnostics.huge_eps_steps,
      key=jax.random.key(config.seed), batch_size=config.batch_size, progress=config.progress)
  report.update({"workdir": path, "torch_checkpoint": path, "dataset": config.dataset,
                 "model": {"name": config.model.name, **options},
                 "mean": list(model.mean), "std": list(model.std)})
  output_dir = output_dir or os.path.splitext(path)[0] + "_evaluation"
  os.makedirs(output_dir, exist_ok=True)
  jr_eval.write_json(os.path.join(output_dir, "evaluation.json"),
                     {"config": config.to_dict(), "models": [report]})
  if config.curve.eps:
    jr_eval.plot_robustness_curves(
        {os.path.basename(path): report["curve"]},
        os.path.join(output_dir, "robustness_curve.png"),
        title=f"{info.name}, {config.norm} PGD-{config.curve.steps}")
  print(jr_eval.format_evaluation([report], title=(
      f"{info.name} {config.split} split ({n} examples), {config.norm} eps={config.eps}")))
  print(f"report: {os.path.join(output_dir, 'evaluation.json')}")
  return report


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  logging.set_verbosity(logging.WARNING)
  with pipeline.one_line_errors("experiments.evaluate"):
    distributed.initialize_from_flags(FLAGS)  # first: before any other JAX call
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
  app.run(main)
