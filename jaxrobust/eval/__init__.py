"""Evaluation by concept:

  evaluator    Evaluator: per-example correctness under attacks, batched, vmapped over models
  ensemble     EnsembleEvaluator: AutoAttack's protocol, each attack on the points still robust
  evaluation   robustness_report (one model) and evaluate_models (several, with curve,
               per-class accuracy and diagnostics)
  diagnostics  gradient-masking checks
  certified    certified accuracy (IBP / CROWN bounds) beside the attacks
  randomized   randomized models (logits_fn(x, key)): accuracy over repeated draws,
               transferability among sample networks, gradient concentration
  sharded      ShardedEvaluator / ShardedEnsembleEvaluator: batches over a device mesh,
               the points still robust re-packed between components
  features     a classifier's penultimate features, their statistics, the Frechet
               distance (the FID formula in any feature space)
  suite        attack names -> attacks (the attack registry's vocabulary)
  report       tables and JSON;  plots: the figures
"""

from jaxrobust.eval import certified, diagnostics, randomized
from jaxrobust.eval.ensemble import EnsembleEvaluator
from jaxrobust.eval.evaluation import evaluate_models, per_class_accuracy, robustness_report
from jaxrobust.eval.evaluator import Evaluator, stack_variables
from jaxrobust.eval.features import feature_statistics, frechet_distance, penultimate_features
from jaxrobust.eval.plots import (plot_population_curves, plot_robustness_curves,
                                  plot_training_curves)
from jaxrobust.eval.report import format_evaluation, format_table, write_json
from jaxrobust.eval.suite import Suite, build_suite
from jaxrobust.eval.sharded import ShardedEnsembleEvaluator, ShardedEvaluator
