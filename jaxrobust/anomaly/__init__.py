"""Anomaly detection: ABC (autoencoding binary classifiers) and its baselines.

Detectors (`DETECTORS`, one file each): "abc", "autoencoder" (unsupervised),
"binary_classifier" (supervised), "deep_sad" (semi-supervised).
"""

from jaxrobust.anomaly._base import Detector
from jaxrobust.anomaly.abc import ABC
from jaxrobust.anomaly.autoencoder import AutoencoderDetector
from jaxrobust.anomaly.binary_classifier import BinaryClassifier
from jaxrobust.anomaly.deep_sad import DeepSAD
from jaxrobust.anomaly.losses import (abc_loss, deep_sad_loss, log1mexp, normal_probability,
                                      reconstruction_error)
from jaxrobust.anomaly.networks import Autoencoder, BiasFreeEncoder
from jaxrobust.anomaly.protocol import KNOWN, NORMAL, UNKNOWN, AnomalySplit, make_split
from jaxrobust.anomaly.registry import DETECTORS
from jaxrobust.anomaly.training import FitResult, anomaly_scores, auroc, fit_detector
