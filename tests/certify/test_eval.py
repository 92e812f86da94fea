"""Certified accuracy in the evaluation report, beside the attacks."""

import numpy as np
import pytest

from jaxrobust import data, eval as jr_eval
from tests.certify import _trained


def test_certified_report_and_table():
  """Per-method certified accuracy (per example), bound times, the table's rows, and the
  clean >= attacks >= certified check."""
  model, variables = _trained.trained("mlp")
  test = data.load("digits", "test")
  images, labels = test.images[:64], test.labels[:64]
  report = jr_eval.certified.certified_report(model, variables, images, labels, eps=0.01,
                                              methods=("ibp", "crown"), batch_size=32)
  acc = report["certified_accuracy"]
  assert 0 < acc["ibp"] <= acc["crown"] <= 1
  assert len(report["certified"]["crown"]) == 64
  assert np.mean(report["certified"]["ibp"]) == pytest.approx(acc["ibp"])
  assert all(t >= 0 for t in report["certified_time_s"].values())
  full = {"clean_accuracy": 1.0, "robust_accuracy": {}, "ensembles": {},
          "worst_case_accuracy": 1.0, **report}
  table = jr_eval.format_evaluation([full])
  assert "certified (crown)" in table and "certified (ibp)" in table
  assert jr_eval.certified.order_warnings(full) == []
  assert jr_eval.certified.order_warnings({**full, "worst_case_accuracy": 0.0})
  with pytest.raises(ValueError, match="deeppoly"):
    jr_eval.certified.certified_report(model, variables, images, labels, eps=0.01,
                                       methods=("deeppoly",))
