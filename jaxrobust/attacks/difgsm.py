"""Diverse-input iterative FGSM (DI2-FGSM; with decay > 0, M-DI2-FGSM).

References:
  Xie et al., "Improving Transferability of Adversarial Examples with Input
  Diversity", CVPR 2019.
"""

from __future__ import annotations

from flax import struct

from jaxrobust.attacks import _transfer
from jaxrobust.attacks._base import static
from jaxrobust.attacks._transfer import MomentumIterative


@struct.dataclass
class DIFGSM(MomentumIterative):
  """MI-FGSM whose gradient is taken through a random resize-and-pad of x_t.

  With probability diversity_prob per step, the whole batch is resized to a
  random size in [resize_rate * W, W) and zero-padded back at a random offset
  (`_transfer.input_diversity`). Linf only; images [batch, height, width, channels].

  Attributes: those of `MomentumIterative` (decay 0: DI2-FGSM), and
    diversity_prob: probability of transforming the input at a step.
    resize_rate: smallest relative size, in (0, 1) (static: it sets the shapes).
  """
  decay: float = 0.0
  diversity_prob: float = 0.5
  resize_rate: float = static(0.9)

  PROBABILITIES = ("diversity_prob",)
  IMAGES = True
  RANDOMIZED = "the diverse-input transform is random"

  def check_static(self):
    _transfer.check_resize_rate(self.resize_rate)

  def gradient(self, logits_fn, loss_fn, y, sign):
    return _transfer.loss_gradient(logits_fn, loss_fn, y, sign, _transfer.diverse_inputs(self))
