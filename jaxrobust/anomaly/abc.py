"""ABC, Autoencoding Binary Classifiers: an autoencoder trained by a binary likelihood.

p(normal | x) = exp(-A(x)) with A the autoencoder's reconstruction error, so
maximizing the likelihood of labeled data trains the autoencoder to
reconstruct normal points (loss A(x)) and to fail on known anomalies (loss
-log(1 - exp(-A(x)))). The score is A(x): unknown anomalies, never seen, are
badly reconstructed as with a plain autoencoder.

A(x) is the squared Euclidean norm ||x - G(F(x))||^2 by default
(reduction="sum"), as we read the paper's definition (its full text was not
reachable from this project's sources to re-check). The scale matters: with
the sum over 784 pixels a normal digit has A of a few units, exp(-A) of a
well reconstructed normal is already small, and the anomaly term's gradient
1 / (exp(A) - 1) vanishes once an anomaly's A exceeds a few units (the push
stops early); with the mean (A ~ 0.01-0.05) the anomaly term is about
-log A and pushes without bound, weighed against a normal term whose gradient
is 784 times smaller. `experiments.anomaly` measures both: on mnist5k the
sum makes ABC no better than a plain autoencoder (the anomaly term is ~exp(-10)
from the start), the mean makes it the best detector of unknown anomalies.

Reference: Yamanaka, Iwata, Takahashi, Yamada & Kanai, "Autoencoding Binary
Classifiers for Supervised Anomaly Detection", PRICAI 2019 (arXiv:1903.10709).
"""

from __future__ import annotations

import dataclasses

from jaxrobust.anomaly import losses as L
from jaxrobust.anomaly.autoencoder import AutoencoderDetector


@dataclasses.dataclass(frozen=True)
class ABC(AutoencoderDetector):
  """ABC's loss on normal (y = 0) and known-anomaly (y = 1) points; score A(x).

  Fields as `AutoencoderDetector`'s (hidden, latent, reduction).
  """
  uses_anomalies = True

  def losses(self, module, params, extra, x, y):
    del extra
    return L.abc_loss(self.reconstruction_error(module, params, x), y)
