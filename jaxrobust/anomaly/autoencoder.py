"""The unsupervised baseline: an autoencoder trained on normal points, scored by A(x).

Reference: the AE baseline of Yamanaka et al. 2019 (arXiv:1903.10709), after
Sakurada & Yairi, "Anomaly Detection Using Autoencoders with Nonlinear
Dimensionality Reduction", MLSDA 2014.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Sequence

from jaxrobust.anomaly import losses as L
from jaxrobust import _checks
from jaxrobust.anomaly._base import Detector, check_hidden
from jaxrobust.anomaly.networks import Autoencoder


@dataclasses.dataclass(frozen=True)
class AutoencoderDetector(Detector):
  """Loss A(x) on normal points only; score A(x) = reconstruction error (`reduction`)."""
  hidden: Sequence[int] = (256,)
  latent: int = 32
  reduction: str = "sum"
  uses_anomalies: ClassVar[bool] = False

  def __post_init__(self):
    L.check_reduction(self.reduction)
    check_hidden(self.hidden)
    # A width: 2.5 or True is not one (check_positive took any real > 0).
    _checks.check_int("latent", self.latent, 1)

  def build(self, info):
    return Autoencoder(hidden=tuple(self.hidden), latent=self.latent)

  def reconstruction_error(self, module, params, x):
    return L.reconstruction_error(x, module.apply({"params": params}, x), self.reduction)

  def losses(self, module, params, extra, x, y):
    del extra, y  # fed normal points only
    return self.reconstruction_error(module, params, x)

  def scores(self, module, params, extra, x):
    del extra
    return self.reconstruction_error(module, params, x)
