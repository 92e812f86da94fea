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


def linear_probe(train_features: np.ndarray, train_labels: np.ndarray,
                 test_features: np.ndarray, test_labels: np.ndarray, *, c: float = 1.0,
                 max_iter: int = 2000) -> float:
  """Test accuracy of a standardized L2-regularized logistic regression (inverse strength c)."""
  for name, f, y in (("train", train_features, train_labels),
                     ("test", test_features, test_labels)):
    if np.ndim(f) != 2 or len(f) != len(y):
      raise ValueError(f"{name} features must be [n, d] with one label each, got "
                       f"{np.shape(f)} and {np.shape(y)}.")
  probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))
  probe.fit(train_features, train_labels)
  return float(probe.score(test_features, test_labels))
