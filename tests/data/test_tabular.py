"""jaxrobust.data.tabular: the packaged tabular sets load complete, with class labels."""

import numpy as np
import pytest

from jaxrobust import data

SHAPES = {"breast_cancer": (569, 30), "wine": (178, 13), "diabetes": (442, 10),
          "anes96": (944, 10)}


@pytest.mark.parametrize("name", data.TABULAR_DATASETS)
def test_loads_complete_features_and_class_labels(name):
  x, y = data.load_tabular(name)
  assert x.shape == SHAPES[name] and x.dtype == np.float64
  assert y.shape == (x.shape[0],) and y.dtype.kind == "i"
  assert np.isfinite(x).all()  # complete: the study makes the missing entries itself
  assert 2 <= len(np.unique(y)) <= 7 and y.min() >= 0


def test_diabetes_label_is_above_the_median():
  _, y = data.load_tabular("diabetes")
  assert abs(y.mean() - 0.5) < 0.01


def test_unknown_name_lists_the_choices():
  with pytest.raises(ValueError, match="Unknown tabular dataset 'iris'.*'wine'"):
    data.load_tabular("iris")
