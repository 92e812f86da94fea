"""Conformance of every registered anomaly detector (one registry line brings these cases):
a one-epoch fit on a small split, scores of shape [batch], finite, deterministic for the
same seed, and different inputs scored differently."""

import numpy as np
import pytest

from jaxrobust import anomaly


@pytest.fixture(scope="module")
def split():
  return anomaly.make_split(normal=(1,), known=(0,), unknown=(7,), num_known=20, seed=0)


@pytest.mark.parametrize("name", anomaly.DETECTORS.names())
def test_detector_fits_one_epoch_and_scores_every_point(split, name, tmp_path):
  detector = anomaly.DETECTORS.make(name, hidden=(16,))
  kwargs = dict(epochs=1, batch_size=100, learning_rate=1e-3, seed=3)
  fit = anomaly.fit_detector(detector, split.train_images, split.train_labels, split.info,
                             workdir=str(tmp_path / "a"), **kwargs)
  images = split.test_images[:37]
  scores = anomaly.anomaly_scores(fit, images, batch_size=16)  # a ragged last batch
  assert scores.shape == (37,) and np.isfinite(scores).all()
  assert len(np.unique(scores)) > 1, "every point scored the same"
  again = anomaly.fit_detector(detector, split.train_images, split.train_labels, split.info,
                               workdir=str(tmp_path / "b"), **kwargs)
  np.testing.assert_array_equal(anomaly.anomaly_scores(again, images, batch_size=16), scores)
