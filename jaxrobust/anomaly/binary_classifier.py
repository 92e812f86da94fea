"""The supervised baseline: a binary classifier of normal vs known anomalies.

An MLP (`jaxrobust.models.MLP`, two classes) trained by cross-entropy on the
labels; the score is the anomaly logit margin log p(anomaly) - log p(normal).
It sees known anomalies well and has no reason to flag unknown ones.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import optax

from jaxrobust.anomaly._base import Detector, check_hidden
from jaxrobust.models.simple import MLP


@dataclasses.dataclass(frozen=True)
class BinaryClassifier(Detector):
  hidden: Sequence[int] = (256,)

  def __post_init__(self):
    check_hidden(self.hidden)

  def build(self, info):
    return MLP(num_classes=2, mean=info.mean, std=info.std, hidden=tuple(self.hidden))

  def losses(self, module, params, extra, x, y):
    del extra
    logits = module.apply({"params": params}, x)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y)

  def scores(self, module, params, extra, x):
    del extra
    logits = module.apply({"params": params}, x)
    return logits[:, 1] - logits[:, 0]
