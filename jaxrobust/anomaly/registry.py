"""Anomaly detectors by name: one file each plus one line here."""

from __future__ import annotations

from typing import Any

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


def make(name: str, /, **options: Any):
  """Builds detector `name` with its own fields (an unknown name or option is a ValueError)."""
  return DETECTORS.make(name, **_tuples(options))


def from_config(section) -> Any:
  """Builds section["name"] from its other fields."""
  return DETECTORS.from_config(section)


def _tuples(options):
  return {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
