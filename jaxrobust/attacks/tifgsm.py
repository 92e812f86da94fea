"""Translation-invariant iterative FGSM (TI-DIM with its defaults).

References:
  Dong et al., "Evading Defenses to Transferable Adversarial Examples by
  Translation-Invariant Attacks", CVPR 2019.
"""

from __future__ import annotations

import jax
import numpy as np
from flax import struct

from jaxrobust.attacks import _core, _transfer


@struct.dataclass
class TIFGSM:
  """DI-FGSM whose gradient is smoothed, per channel, by a kernel W before the
  momentum update: g_{t+1} = decay * g_t + (W * grad) / ||W * grad||_1.

  The convolution pads with zeros (as the paper's TF code and torchattacks), so
  the smoothed gradient fades within len_kernel // 2 pixels of the border.
  Linf only; images [batch, height, width, channels].

  Attributes:
    eps: Linf radius (pixel units of [0, 1]).
    step_size: size of each sign step.
    decay: momentum factor.
    diversity_prob: probability of the diverse-input transform at a step (0: off).
    steps: number of iterations (static).
    kernel_name: "gaussian", "linear" or "uniform" (static).
    len_kernel: kernel side (static).
    nsig: the gaussian kernel spans [-nsig, nsig] standard deviations (static).
    resize_rate: smallest relative size of the diverse input, in (0, 1) (static).
    loss: per-example loss name from `jaxrobust.losses` (static).
    targeted: if True, `y` are target labels and the loss is descended (static).
    random_start: start from a uniform point of the ball (static).
  """
  eps: float = 8 / 255
  step_size: float = 2 / 255
  decay: float = 0.0
  diversity_prob: float = 0.5
  steps: int = struct.field(pytree_node=False, default=10)
  kernel_name: str = struct.field(pytree_node=False, default="gaussian")
  len_kernel: int = struct.field(pytree_node=False, default=15)
  nsig: float = struct.field(pytree_node=False, default=3.0)
  resize_rate: float = struct.field(pytree_node=False, default=0.9)
  loss: str = struct.field(pytree_node=False, default="ce")
  targeted: bool = struct.field(pytree_node=False, default=False)
  random_start: bool = struct.field(pytree_node=False, default=False)

  def __post_init__(self):
    _core.check_static_fields(self)
    _core.check_choice("kernel_name", self.kernel_name, _transfer.KERNELS)
    _core.check_at_least("len_kernel", self.len_kernel, 1)
    if not np.isfinite(self.nsig) or self.nsig <= 0:
      raise ValueError(f"nsig must be finite and > 0, got {self.nsig!r}.")
    _transfer.check_resize_rate(self.resize_rate)

  def validate(self) -> "TIFGSM":
    """Checks the numeric hyperparameters when they are concrete; returns self."""
    _core.check_numeric_fields(self, names=("eps", "step_size", "decay"))
    _transfer.check_probability("diversity_prob", self.diversity_prob)
    return self

  def __call__(self, logits_fn: _core.LogitsFn, x: jax.Array, y: jax.Array, *,
               key: jax.Array | None = None) -> jax.Array:
    """Returns x_adv [batch, H, W, C] with ||x_adv - x||_inf <= eps, inside [0, 1].

    Args:
      logits_fn: inputs [batch, H, W, C] -> logits [batch, classes].
      x: clean images [batch, H, W, C] in [0, 1].
      y: labels [batch] (targets if `targeted`).
      key: PRNG key (required: the diverse-input transform is random).
    """
    loss_fn, sign = _transfer.prepare(self, x, y)
    _transfer.require_key("TIFGSM", key)
    x_start, key = _transfer.start(self, x, key)
    kernel = _transfer.smoothing_kernel(self.kernel_name, self.len_kernel, self.nsig)
    diverse = lambda k, z: _transfer.input_diversity(k, z, self.resize_rate,
                                                     self.diversity_prob)
    raw = _transfer.loss_gradient(logits_fn, loss_fn, y, sign, diverse)
    smoothed = lambda z, k: _transfer.depthwise_conv(raw(z, k), kernel)
    return _transfer.momentum_loop(
        smoothed, x, x_start, eps=self.eps, step_size=self.step_size, decay=self.decay,
        steps=self.steps, key=key)
