"""Anomaly detectors by name: one file each plus one line here."""

from __future__ import annotations

from jaxrobust.anomaly.abc import ABC
from jaxrobust.anomaly.autoencoder import AutoencoderDetector
from jaxrobust.anomaly.binary_classifier import BinaryClassifier
from jaxrobust.anomaly.deep_sad import DeepSAD
from jaxrobust.registry import Registry

DETECTORS = Registry("anomaly detector")
DETECTORS.register("abc", ABC)
DETECTORS.register("autoencoder", AutoencoderDetector)
DETECTORS.register("binary_classifier", BinaryClassifier)
DETECTORS.register("deep_sad", DeepSAD)

