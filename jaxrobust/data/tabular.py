"""Small tabular classification sets that ship inside scikit-learn and statsmodels
(no network), as float features and integer class labels.

Datasets:
  breast_cancer  569 x 30, benign / malignant (sklearn);
  wine           178 x 13, three cultivars (sklearn);
  diabetes       442 x 10, disease progression above its median (sklearn's
                 regression target, made a binary label);
  anes96         944 x 10, the 1996 US presidential vote (statsmodels; the `vote`
                 column is the label, the others the features).

Used by the imputation study (experiments/imputation.py): the features are
complete, so a missingness mechanism can be applied and the imputation scored.
"""

from __future__ import annotations

import numpy as np

from jaxrobust import _checks

TABULAR_DATASETS = ("breast_cancer", "wine", "diabetes", "anes96")


def load_tabular(name: str) -> tuple[np.ndarray, np.ndarray]:
  """(features float64 [n, d], class labels int [n]) of the dataset `name`."""
  _checks.check_choice("tabular dataset", name, TABULAR_DATASETS)
  from sklearn import datasets  # sklearn's import is slow; only the loader needs it
  if name == "breast_cancer":
    x, y = datasets.load_breast_cancer(return_X_y=True)
  elif name == "wine":
    x, y = datasets.load_wine(return_X_y=True)
  elif name == "diabetes":
    x, target = datasets.load_diabetes(return_X_y=True)
    y = (target > np.median(target)).astype(int)
  else:
    import statsmodels.api as sm
    frame = sm.datasets.anes96.load_pandas().data
    y = frame["vote"].to_numpy().astype(int)
    x = frame.drop(columns=["vote"]).to_numpy()
  return np.asarray(x, np.float64), np.asarray(y, int)
