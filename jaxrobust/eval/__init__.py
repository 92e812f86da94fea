"""Robust-accuracy evaluation, AutoAttack-style ensembles, diagnostics, reports and plots."""

from jaxrobust.eval import diagnostics
from jaxrobust.eval.ensemble import EnsembleEvaluator
from jaxrobust.eval.evaluation import evaluate_models, per_class_accuracy
from jaxrobust.eval.evaluator import Evaluator, stack_variables
from jaxrobust.eval.plots import plot_robustness_curves, plot_training_curves
from jaxrobust.eval.report import (format_evaluation, format_table, robustness_report,
                                   write_json)
from jaxrobust.eval.suite import Suite, build_suite
