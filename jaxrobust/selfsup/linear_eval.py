"""Linear evaluation: a logistic regression on frozen features (scikit-learn).

The standard protocol for self-supervised representations (Gidaris et al.
2018; Kolesnikov, Zhai & Beyer, "Revisiting Self-Supervised Visual
Representation Learning", CVPR 2019): only a linear classifier is trained on
the labels.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from jaxrobust import _checks


def linear_probe(train_features: np.ndarray, train_labels: np.ndarray,
                 test_features: np.ndarray, test_labels: np.ndarray, *, c: float = 1.0,
                 max_iter: int = 2000) -> float:
  """Test accuracy of a standardized L2-regularized logistic regression (inverse strength c)."""
  for name, f, y in (("train", train_features, train_labels),
                     ("test", test_features, test_labels)):
    if np.ndim(f) != 2 or len(f) != len(y):
      raise ValueError(f"{name} features must be [n, d] with one label each, got "
                       f"{np.shape(f)} and {np.shape(y)}.")
    _checks.check_nonempty(f"{name}_features", f)
    _checks.check_array_range(f"{name}_features", np.asarray(f, np.float64))
    _checks.check_labels(f"{name}_labels", np.asarray(y))
  if np.shape(train_features)[1] != np.shape(test_features)[1]:
    raise ValueError(f"train and test features must have one width d, got "
                     f"{np.shape(train_features)[1]} and {np.shape(test_features)[1]}.")
  if len(np.unique(train_labels)) < 2:
    raise ValueError("train_labels must hold at least 2 classes for a classifier, got "
                     f"{np.unique(train_labels).tolist()}.")
  _checks.check_real("c (inverse regularization strength)", c, low=0.0, low_open=True)
  _checks.check_int("max_iter", max_iter, 1)
  probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))
  probe.fit(train_features, train_labels)
  return float(probe.score(test_features, test_labels))
