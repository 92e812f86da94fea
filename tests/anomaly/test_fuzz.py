"""Bad input at every public entry of jaxrobust.anomaly: a clear error naming the argument.

CASES keys are "anomaly.<entry>:<what is bad>"; each value is (call, error type, words the
message must contain). Nothing here trains: every call fails at its boundary checks.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import anomaly
from jaxrobust.data.info import DatasetInfo
from jaxrobust.anomaly import DETECTORS
from tests.bad_input import assert_clear_error

NAN = float("nan")
A = jnp.array([0.5, 2.0, 0.1])
Y = jnp.array([0, 1, 0])
IMAGES = np.zeros((4, 4, 4, 1), np.uint8)
LABELS = np.array([0, 0, 1, 0])
INFO = DatasetInfo("toy", 2, (4, 4, 1), (0.5,), (0.25,))


def _fit(images=IMAGES, labels=LABELS, detector=None, **kwargs):
  args = {"workdir": "/nonexistent", "epochs": 1, "batch_size": 2, **kwargs}
  return lambda: anomaly.fit_detector(
      DETECTORS.make("autoencoder", hidden=(4,), latent=2) if detector is None else detector,
      images, labels, INFO, **args)


CASES = {
    # losses
    "anomaly.abc_loss:label_two": (lambda: anomaly.abc_loss(A, jnp.array([0, 2, 1])),
                                   ValueError, ["y", "0 normal, 1 known anomaly", "2"]),
    "anomaly.abc_loss:label_negative": (lambda: anomaly.abc_loss(A, jnp.array([0, -1, 1])),
                                        ValueError, ["y", "0 and 1", "-1"]),
    "anomaly.abc_loss:negative_error": (lambda: anomaly.abc_loss(A.at[1].set(-0.5), Y),
                                        ValueError, ["A(x)", "[0.0, inf]", "-0.5"]),
    "anomaly.abc_loss:nan_error": (lambda: anomaly.abc_loss(A.at[1].set(NAN), Y), ValueError,
                                   ["A(x)", "finite"]),
    "anomaly.abc_loss:shapes": (lambda: anomaly.abc_loss(A, Y[:2]), ValueError,
                                ["A(x)", "differ in shape", "(3,)", "(2,)"]),
    "anomaly.deep_sad_loss:label_two": (lambda: anomaly.deep_sad_loss(A, Y.at[0].set(2), 1.0),
                                        ValueError, ["y", "0 and 1", "2"]),
    "anomaly.deep_sad_loss:negative_distance": (
        lambda: anomaly.deep_sad_loss(-A, Y, 1.0), ValueError, ["sq_dist", "[0.0, inf]"]),
    "anomaly.deep_sad_loss:eta_negative": (lambda: anomaly.deep_sad_loss(A, Y, -1.0),
                                           ValueError, ["eta", "> 0", "-1.0"]),
    "anomaly.deep_sad_loss:eps_zero": (lambda: anomaly.deep_sad_loss(A, Y, 1.0, eps=0.0),
                                       ValueError, ["eps", "> 0"]),
    "anomaly.log1mexp:negative": (lambda: anomaly.log1mexp(jnp.array([1.0, -0.1])), ValueError,
                                  ["a", "[0.0, inf]", "-0.1"]),
    "anomaly.normal_probability:negative": (lambda: anomaly.normal_probability(-A), ValueError,
                                            ["A(x)", "[0.0, inf]"]),
    "anomaly.reconstruction_error:unknown_reduction": (
        lambda: anomaly.reconstruction_error(A, A, "max"), ValueError,
        ["reduction", "max", "mean"]),
    "anomaly.reconstruction_error:shapes": (
        lambda: anomaly.reconstruction_error(jnp.zeros((2, 3)), jnp.zeros((2, 4))), ValueError,
        ["reconstruction", "(2, 3)", "(2, 4)"]),
    "anomaly.reconstruction_error:scalar": (
        lambda: anomaly.reconstruction_error(jnp.float32(1.0), jnp.float32(1.0)), ValueError,
        ["x", "batch", "()"]),
    # detectors (make) and their networks
    "anomaly.DETECTORS.make:abc_latent_float": (
        lambda: DETECTORS.make("abc", latent=2.5), ValueError,
                                      ["latent", "integer", "2.5"]),
    "anomaly.DETECTORS.make:abc_latent_zero": (lambda: DETECTORS.make("abc", latent=0), ValueError,
                                     ["latent", ">= 1", "0"]),
    "anomaly.DETECTORS.make:abc_hidden_negative": (lambda: DETECTORS.make("abc", hidden=(32, -8)),
                                         ValueError, ["hidden[1]", ">= 1", "-8"]),
    "anomaly.DETECTORS.make:abc_unknown_reduction": (lambda: DETECTORS.make("abc", reduction="max"),
                                           ValueError, ["reduction", "max"]),
    "anomaly.DETECTORS.make:autoencoder_hidden_zero": (
        lambda: DETECTORS.make("autoencoder", hidden=(0,)),
                                             ValueError, ["hidden[0]", ">= 1", "0"]),
    "anomaly.DETECTORS.make:binary_classifier_hidden_negative": (
        lambda: DETECTORS.make("binary_classifier", hidden=(-1,)), ValueError,
        ["hidden[0]", "-1"]),
    "anomaly.DETECTORS.make:binary_classifier_hidden_int": (
        lambda: DETECTORS.make("binary_classifier", hidden=256), TypeError,
        ["hidden", "sequence"]),
    "anomaly.DETECTORS.make:deep_sad_center_eps_negative": (
        lambda: DETECTORS.make("deep_sad", center_eps=-0.1), ValueError,
        ["center_eps", ">= 0.0", "-0.1"]),
    "anomaly.DETECTORS.make:deep_sad_features_float": (
        lambda: DETECTORS.make("deep_sad", features=3.5),
                                             ValueError, ["features", "3.5"]),
    "anomaly.DETECTORS.make:deep_sad_hidden_zero": (lambda: DETECTORS.make("deep_sad", hidden=(0,)),
                                          ValueError, ["hidden[0]", ">= 1"]),
    "anomaly.DETECTORS.make:deep_sad_eta_zero": (
        lambda: DETECTORS.make("deep_sad", eta=0.0), ValueError,
                                       ["eta", "> 0"]),
    "anomaly.DETECTORS.make:unknown_name": (lambda: DETECTORS.make("isolation_forest"), ValueError,
                                  ["isolation_forest", "abc"]),
    "anomaly.DETECTORS.make:unknown_option": (lambda: DETECTORS.make("abc", latnet=4), ValueError,
                                    ["latnet"]),
    "anomaly.DETECTORS.from_config:unknown_option": (
        lambda: DETECTORS.from_config({"name": "deep_sad", "centre_eps": 0.1}), ValueError,
        ["centre_eps"]),
    "anomaly.ABC:latent_float": (lambda: anomaly.ABC(latent=2.5), ValueError,
                                 ["latent", "2.5"]),
    "anomaly.AutoencoderDetector:latent_bool": (lambda: anomaly.AutoencoderDetector(latent=True),
                                                ValueError, ["latent", "True"]),
    "anomaly.DeepSAD:center_eps_nan": (lambda: anomaly.DeepSAD(center_eps=NAN), ValueError,
                                       ["center_eps", "finite"]),
    "anomaly.BinaryClassifier:hidden_zero": (lambda: anomaly.BinaryClassifier(hidden=(0,)),
                                             ValueError, ["hidden[0]", ">= 1"]),
    "anomaly.Autoencoder:latent_zero": (lambda: anomaly.Autoencoder(latent=0), ValueError,
                                        ["latent", ">= 1", "0"]),
    "anomaly.Autoencoder:hidden_negative": (lambda: anomaly.Autoencoder(hidden=(-4,)),
                                            ValueError, ["hidden[0]", "-4"]),
    "anomaly.BiasFreeEncoder:features_float": (lambda: anomaly.BiasFreeEncoder(features=2.5),
                                               ValueError, ["features", "2.5"]),
    # training, scoring, AUROC, the split
    "anomaly.fit_detector:label_two": (_fit(labels=np.array([0, 2, 1, 0])), ValueError,
                                       ["labels", "0 (normal) or 1"]),
    "anomaly.fit_detector:images_float_255": (_fit(images=np.full((4, 4, 4, 1), 255.0)),
                                              ValueError, ["images", "[0.0, 1.0]", "255"]),
    "anomaly.fit_detector:images_int16": (_fit(images=IMAGES.astype(np.int16)), TypeError,
                                          ["images", "uint8", "int16"]),
    "anomaly.fit_detector:images_3d": (_fit(images=IMAGES[..., 0]), ValueError,
                                       ["images", "[batch, height, width, channels]"]),
    "anomaly.fit_detector:learning_rate_negative": (_fit(learning_rate=-1e-3), ValueError,
                                                    ["learning_rate", "> 0.0", "-0.001"]),
    "anomaly.fit_detector:weight_decay_negative": (_fit(weight_decay=-0.1), ValueError,
                                                   ["weight_decay", ">= 0.0", "-0.1"]),
    "anomaly.fit_detector:batch_size_zero": (_fit(batch_size=0), ValueError,
                                             ["batch_size", ">= 1", "0"]),
    "anomaly.fit_detector:batch_above_data": (_fit(batch_size=10), ValueError,
                                              ["batch_size=10", "exceeds"]),
    "anomaly.fit_detector:epochs_zero": (_fit(epochs=0), ValueError, ["epochs", ">= 1"]),
    "anomaly.fit_detector:ragged": (_fit(labels=LABELS[:3]), ValueError,
                                    ["images and labels", "4 vs 3"]),
    "anomaly.fit_detector:not_a_detector": (_fit(detector="abc"), TypeError,
                                            ["detector", "anomaly.make"]),
    "anomaly.fit_detector:seed_negative": (_fit(seed=-1), ValueError, ["seed", ">= 0", "-1"]),
    "anomaly.anomaly_scores:batch_size_zero": (
        lambda: anomaly.anomaly_scores(None, IMAGES, batch_size=0), ValueError,
        ["batch_size", ">= 1", "0"]),
    "anomaly.anomaly_scores:images_255": (
        lambda: anomaly.anomaly_scores(None, np.full((2, 4, 4, 1), 255.0)), ValueError,
        ["images", "[0.0, 1.0]"]),
    "anomaly.auroc:empty": (lambda: anomaly.auroc(np.array([]), np.array([1.0])), ValueError,
                            ["at least one normal"]),
    "anomaly.auroc:nan_score": (lambda: anomaly.auroc(np.array([0.1, NAN]), np.array([1.0])),
                                ValueError, ["normal_scores", "finite"]),
    "anomaly.auroc:two_dim": (lambda: anomaly.auroc(np.zeros((2, 2)), np.ones(2)), ValueError,
                              ["normal_scores", "[n]", "(2, 2)"]),
    "anomaly.make_split:overlapping_classes": (
        lambda: anomaly.make_split(normal=(0,), known=(0,), unknown=(5,), num_known=1, seed=0),
        ValueError, ["disjoint"]),
    "anomaly.make_split:negative_class": (
        lambda: anomaly.make_split(normal=(0,), known=(-1,), unknown=(5,), num_known=1, seed=0),
        ValueError, ["known classes", ">= 0", "(-1,)"]),
    "anomaly.make_split:num_known_zero": (
        lambda: anomaly.make_split(normal=(0,), known=(1,), unknown=(5,), num_known=0, seed=0),
        ValueError, ["num_known", ">= 1", "0"]),
    "anomaly.make_split:seed_float": (
        lambda: anomaly.make_split(normal=(0,), known=(1,), unknown=(5,), num_known=1,
                                   seed=0.5), ValueError, ["seed", "0.5"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_clearly(case):
  call, error, words = CASES[case]
  assert_clear_error(call, error, words)


def test_good_labels_still_score_and_traced_values_pass():
  """0/1 labels of any dtype are scored as before; under jit nothing is checked (no cost)."""
  expected = jnp.where(Y == 1, -anomaly.log1mexp(A), A)
  np.testing.assert_allclose(anomaly.abc_loss(A, Y.astype(jnp.float32)), expected)
  np.testing.assert_allclose(anomaly.abc_loss(A, Y.astype(bool)), expected)
  np.testing.assert_allclose(jax.jit(anomaly.abc_loss)(A, Y), expected, rtol=1e-6)
