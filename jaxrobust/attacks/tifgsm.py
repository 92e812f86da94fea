"""Translation-invariant iterative FGSM (TI-DIM with its defaults).

References:
  Dong et al., "Evading Defenses to Transferable Adversarial Examples by
  Translation-Invariant Attacks", CVPR 2019.
"""

from __future__ import annotations

import numpy as np
from flax import struct

from jaxrobust.attacks import _core, _transfer
from jaxrobust.attacks._base import static
from jaxrobust.attacks.difgsm import DIFGSM


@struct.dataclass
class TIFGSM(DIFGSM):
  """DI-FGSM whose gradient is smoothed, per channel, by a kernel W before the
  momentum update: g_{t+1} = decay * g_t + (W * grad) / ||W * grad||_1.

  The convolution pads with zeros (as the paper's TF code and torchattacks), so
  the smoothed gradient fades within len_kernel // 2 pixels of the border.
  Linf only; images [batch, height, width, channels].

  Attributes: those of `DIFGSM` (diversity_prob 0 turns the transform off), and
    kernel_name: "gaussian", "linear" or "uniform" (static).
    len_kernel: kernel side (static).
    nsig: the gaussian kernel spans [-nsig, nsig] standard deviations (static).
  """
  kernel_name: str = static("gaussian")
  len_kernel: int = static(15)
  nsig: float = static(3.0)

  MINIMUMS = {"len_kernel": 1}

  def check_static(self):
    super().check_static()
    _core.check_choice("kernel_name", self.kernel_name, _transfer.KERNELS)
    if not np.isfinite(self.nsig) or self.nsig <= 0:
      raise ValueError(f"nsig must be finite and > 0, got {self.nsig!r}.")

  def gradient(self, logits_fn, loss_fn, y, sign):
    kernel = _transfer.smoothing_kernel(self.kernel_name, self.len_kernel, self.nsig)
    raw = super().gradient(logits_fn, loss_fn, y, sign)
    return lambda z, k: _transfer.depthwise_conv(raw(z, k), kernel)
