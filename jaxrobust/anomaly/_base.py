"""What an anomaly detector is: a network, a per-example loss and an anomaly score."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import flax.linen as nn
import jax

from jaxrobust import _checks
from jaxrobust.data.info import DatasetInfo


@dataclasses.dataclass(frozen=True)
class Detector:
  """Base of the detectors (frozen, so hashable: a static argument under jit).

  Labels everywhere: 0 normal, 1 known anomaly. `uses_anomalies` False means
  training sees only the normal points (the unsupervised baseline).
  """
  uses_anomalies: ClassVar[bool] = True

  def build(self, info: DatasetInfo) -> nn.Module:
    raise NotImplementedError

  def init_extra(self, module: nn.Module, params: Any, x_normal: jax.Array) -> dict:
    """Non-trained state computed once from the initial network (Deep SAD's centre)."""
    del module, params, x_normal
    return {}

  def losses(self, module: nn.Module, params: Any, extra: dict, x: jax.Array,
             y: jax.Array) -> jax.Array:
    """Per-example training loss [batch] for images [batch, h, w, c] and labels [batch]."""
    raise NotImplementedError

  def scores(self, module: nn.Module, params: Any, extra: dict, x: jax.Array) -> jax.Array:
    """Anomaly score [batch]: higher means more anomalous."""
    raise NotImplementedError


def check_positive(name: str, value: float) -> None:
  _checks.check_number(name, value, low=0, low_open=True)


def check_hidden(hidden) -> None:
  """The hidden layer widths of a detector's network: integers >= 1 (may be empty)."""
  _checks.check_widths("hidden", hidden)
