"""Deep SAD: semi-supervised one-class learning around a fixed centre.

A bias-free encoder phi maps points to a feature space; the centre c is the
mean of phi over the normal training points at initialization (coordinates
within `center_eps` of 0 moved to +-center_eps, so that a zero unit cannot
trivially match c). Unlabeled (normal) points are pulled to c by
||phi(x) - c||^2; labeled anomalies are pushed away by eta / ||phi(x) - c||^2.
Score: ||phi(x) - c||^2. The paper pretrains phi as an autoencoder's encoder;
this baseline starts from a random initialization (cheaper, a weaker baseline).

Reference: Ruff, Vandermeulen, Goernitz, Binder, Mueller, Mueller & Kloft,
"Deep Semi-Supervised Anomaly Detection", ICLR 2020 (eq. 4; centre and
bias-free network from Deep SVDD, Ruff et al., ICML 2018).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import jax
import jax.numpy as jnp

from jaxrobust.anomaly import losses as L
from jaxrobust import _checks
from jaxrobust.anomaly._base import Detector, check_hidden, check_positive
from jaxrobust.anomaly.networks import BiasFreeEncoder, squared_distance


@dataclasses.dataclass(frozen=True)
class DeepSAD(Detector):
  hidden: Sequence[int] = (256,)
  features: int = 32
  eta: float = 1.0
  center_eps: float = 0.1

  def __post_init__(self):
    check_positive("eta", self.eta)
    check_hidden(self.hidden)
    _checks.check_int("features", self.features, 1)
    # A negative eps would move the centre's small coordinates toward 0, not away.
    _checks.check_real("center_eps", self.center_eps, low=0.0)

  def build(self, info):
    return BiasFreeEncoder(hidden=tuple(self.hidden), features=self.features)

  def init_extra(self, module, params, x_normal):
    c = module.apply({"params": params}, x_normal).mean(0)
    c = jnp.where((jnp.abs(c) < self.center_eps) & (c < 0), -self.center_eps, c)
    c = jnp.where((jnp.abs(c) < self.center_eps) & (c >= 0), self.center_eps, c)
    return {"center": jax.lax.stop_gradient(c)}

  def scores(self, module, params, extra, x):
    return squared_distance(module.apply({"params": params}, x), extra["center"])

  def losses(self, module, params, extra, x, y):
    return L.deep_sad_loss(self.scores(module, params, extra, x), y, self.eta)
