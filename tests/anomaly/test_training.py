"""The anomaly split's protocol; a short ABC fit separates known anomalies and resumes."""

import jax
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
  a run stopped after epoch 1 and restarted in its workdir ends as the uninterrupted one."""
  split = anomaly.make_split(normal=(1,), known=(0,), unknown=(7,), num_known=40, seed=0)
  detector = anomaly.DETECTORS.make("abc", hidden=(32,), latent=4, reduction="mean")
  kwargs = dict(batch_size=110, learning_rate=3e-3)
  fit = anomaly.fit_detector(detector, split.train_images, split.train_labels, split.info,
                             workdir=str(tmp_path / "a"), epochs=3, **kwargs)
  scores = anomaly.anomaly_scores(fit, split.test_images)
  kind = split.test_kind
  assert anomaly.auroc(scores[kind == anomaly.NORMAL], scores[kind == anomaly.KNOWN]) > 0.9
  for epochs in (1, 3):  # killed after epoch 1, then resumed
    again = anomaly.fit_detector(detector, split.train_images, split.train_labels, split.info,
                                 workdir=str(tmp_path / "b"), epochs=epochs, **kwargs)
  jax.tree.map(np.testing.assert_array_equal, again.state, fit.state)
  assert [r["train_loss"] for r in again.history] == [r["train_loss"] for r in fit.history]
