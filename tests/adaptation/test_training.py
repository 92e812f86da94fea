"""The trainer on a toy pair (resumable, target accuracy logged), and the digits <->
mnist5k pair: one resolution, checked domains."""

import jax
import ml_collections
import numpy as np
import pytest

from jaxrobust import adaptation
from jaxrobust.adaptation import Domain, make_pair
from tests.adaptation._toy import toy_domain, toy_pair


def _config(method="class_conditional", epochs=2):
  return ml_collections.ConfigDict({
      "source": "toy_s", "target": "toy_t", "size": 8, "method": {"name": method},
      "model": {"conv_features": (4,), "feature_dim": 8, "disc_hidden": (8,)},
      "optimizer": {"name": "adam", "learning_rate": 1e-2, "schedule": "constant"},
      "batch_size": 8, "epochs": epochs, "seed": 0, "progress": False})


def test_fit_logs_target_accuracy_and_resumes_identically(tmp_path):
  pair = toy_pair()
  result = adaptation.fit(_config("source_only", epochs=4), str(tmp_path / "a"), pair)
  assert [r["epoch"] for r in result.history] == [1, 2, 3, 4]
  assert result.history[-1]["step"] == 4 * (48 // 8)
  for r in result.history:
    assert 0.0 <= r["target_accuracy"] <= 1.0 and np.isfinite(r["train_loss"])
  assert result.history[-1]["source_accuracy"] > 0.9  # three blobs are easy
  assert result.features(pair.target_test.images).shape == (24, 8)
  assert result.logits_fn()(pair.target_test.images).shape == (24, 3)
  # Stopped after epoch 1, then resumed to 4 (a constant learning rate: the schedule
  # is the same for both lengths).
  adaptation.fit(_config("source_only", epochs=1), str(tmp_path / "b"), pair)
  again = adaptation.fit(_config("source_only", epochs=4), str(tmp_path / "b"), pair)
  jax.tree.map(np.testing.assert_array_equal, again.state, result.state)
  assert [r["train_loss"] for r in again.history] == [r["train_loss"] for r in result.history]


def test_bad_config_fails_before_training(tmp_path):
  with pytest.raises(ValueError, match="Unknown adaptation method 'dan'"):
    adaptation.fit(_config(method="dan"), str(tmp_path / "a"), toy_pair())
  config = _config()
  config.batch_size = 500
  with pytest.raises(ValueError, match="batch_size=500 exceeds the 48 source"):
    adaptation.fit(config, str(tmp_path / "b"), toy_pair())


def test_pair_checks_name_the_problem():
  s, t = toy_domain("s", 12, 0, False), toy_domain("t", 12, 1, True)
  with pytest.raises(ValueError, match="target_train domain .* is empty"):
    make_pair(s, Domain("t", t.images[:0], t.labels[:0]), s, t)
  five = Domain("t", t.images, (t.labels + 3).astype(np.int32))  # classes 3..5 vs 0..2
  with pytest.raises(ValueError, match="share one set of classes"):
    make_pair(s, five, s, t)
  small = Domain("t", t.images[:, :4, :4], t.labels)
  with pytest.raises(ValueError, match="one image shape"):
    make_pair(s, small, s, t)
  with pytest.raises(ValueError, match="Unknown source domain 'svhn'"):
    adaptation.load_pair("svhn", "digits")
  with pytest.raises(ValueError, match="both 'digits'"):
    adaptation.load_pair("digits", "digits")


def test_digits_and_mnist5k_at_one_resolution():
  pair = adaptation.load_pair("digits", "mnist5k", size=16)
  assert pair.source_train.images.shape == (1438, 16, 16, 1)  # the stratified 80%
  assert pair.target_train.images.shape == (4000, 16, 16, 1)
  assert pair.target_test.images.shape == (1000, 16, 16, 1) and pair.num_classes == 10
  for d in (pair.source_train, pair.target_train):
    assert d.images.dtype == np.float32 and 0 <= d.images.min() and d.images.max() <= 1
  # Cropping MNIST's empty border makes its ink fill the frame as the digits' does.
  uncropped = adaptation.load_domain("mnist5k", "train", 16, crop=False).images
  ink = lambda x: x[:, :2].mean() + x[:, -2:].mean()
  assert ink(pair.target_train.images) > 5 * ink(uncropped)
