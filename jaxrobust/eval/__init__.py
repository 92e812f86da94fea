"""Robust-accuracy evaluation, reports and plots."""

from jaxrobust.eval.evaluator import Evaluator
from jaxrobust.eval.plots import plot_training_curves
from jaxrobust.eval.report import format_table, robustness_report, write_json
