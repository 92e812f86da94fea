"""The anomaly split's protocol; a short ABC fit separates known anomalies and resumes."""

import numpy as np

from jaxrobust import anomaly


def test_split_keeps_unknown_classes_out_of_training():
  split = anomaly.make_split(normal=(0, 1, 2), known=(3, 4), unknown=(5,), num_known=7, seed=1)
  assert split.train_labels.sum() == 7 and len(split.train_labels) == 1200 + 7
  assert set(np.unique(split.test_classes[split.test_kind == anomaly.UNKNOWN])) == {5}
  assert set(np.unique(split.test_classes[split.test_kind == anomaly.KNOWN])) == {3, 4}
  again = anomaly.make_split(normal=(0, 1, 2), known=(3, 4), unknown=(5,), num_known=7, seed=1)
  np.testing.assert_array_equal(split.train_images, again.train_images)


def test_abc_separates_known_anomalies_and_resumes(tmp_path):
  """Digit 1 normal, 40 labeled 0s: a few ABC epochs (mean error) rank held-out 0s above 1s;
  a rerun in the same workdir resumes from its last checkpoint (same parameters)."""
  split = anomaly.make_split(normal=(1,), known=(0,), unknown=(7,), num_known=40, seed=0)
  detector = anomaly.make("abc", hidden=(32,), latent=4, reduction="mean")
  kwargs = dict(workdir=str(tmp_path), epochs=3, batch_size=110, learning_rate=3e-3)
  fit = anomaly.fit_detector(detector, split.train_images, split.train_labels, split.info,
                             **kwargs)
  scores = anomaly.anomaly_scores(fit, split.test_images)
  kind = split.test_kind
  assert anomaly.auroc(scores[kind == anomaly.NORMAL], scores[kind == anomaly.KNOWN]) > 0.9
  again = anomaly.fit_detector(detector, split.train_images, split.train_labels, split.info,
                               **kwargs)
  np.testing.assert_array_equal(np.asarray(again.state.params["Dense_0"]["kernel"]),
                                np.asarray(fit.state.params["Dense_0"]["kernel"]))
  assert len(again.history) == 3
