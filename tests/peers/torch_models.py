"""A PyTorch twin of `jaxrobust.models.SmallCNN` with exact weight conversion.

The reference implementations (torchattacks) attack torch modules; the parity
tests and bench/attacks.py give them the same function as our Flax model:
same weights, same normalisation inside the model, NCHW inputs in [0, 1].

Three layout differences are handled here, not in the tests:
  * Flax "SAME" padding with stride 2 on an even size pads asymmetrically
    (k=3 on 28: low 0, high 1); torch's `padding=1` is symmetric, so the twin
    pads explicitly with `F.pad`.
  * Flax conv kernels are HWIO; torch's are OIHW.
  * The first dense layer sees an NHWC flatten in Flax and an NCHW flatten in
    torch: its input rows are permuted from (h, w, c) to (c, h, w) order.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def nhwc_to_nchw(x) -> torch.Tensor:
  """[batch, h, w, c] array (JAX or numpy) -> torch tensor [batch, c, h, w]: float64 stays
  float64 (the float64 parity checks), anything else becomes float32."""
  dtype = np.float64 if np.asarray(x).dtype == np.float64 else np.float32
  return torch.from_numpy(np.array(x, dtype).transpose(0, 3, 1, 2).copy())


def nchw_to_nhwc(x: torch.Tensor) -> np.ndarray:
  """torch tensor [batch, c, h, w] -> numpy [batch, h, w, c] of the same dtype."""
  return x.detach().cpu().numpy().transpose(0, 2, 3, 1)


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
  """(low, high) padding of XLA/Flax "SAME": the extra pixel, if any, goes high."""
  out = math.ceil(size / stride)
  total = max((out - 1) * stride + kernel - size, 0)
  return total // 2, total - total // 2


class TorchSmallCNN(nn.Module):
  """SmallCNN in torch: [batch, c, h, w] in [0, 1] -> logits [batch, classes]."""

  def __init__(self, in_channels, num_classes, mean, std, features=(32, 64),
               kernel_size=3, hidden=128, batchnorm=False, input_hw=(28, 28)):
    super().__init__()
    self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
    self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
    self.kernel_size = kernel_size
    self.convs = nn.ModuleList()
    self.norms = nn.ModuleList()
    h, w = input_hw
    channels = in_channels
    for width in features:
      self.convs.append(nn.Conv2d(channels, width, kernel_size, stride=2, padding=0,
                                  bias=not batchnorm))
      self.norms.append(nn.BatchNorm2d(width, eps=1e-5) if batchnorm else nn.Identity())
      channels, h, w = width, math.ceil(h / 2), math.ceil(w / 2)
    self.flat_chw = (channels, h, w)
    self.fc1 = nn.Linear(channels * h * w, hidden)
    self.fc2 = nn.Linear(hidden, num_classes)

  def forward(self, x):
    x = (x - self.mean) / self.std
    k = self.kernel_size
    for conv, norm in zip(self.convs, self.norms):
      top, bottom = same_padding(x.shape[2], k, 2)
      left, right = same_padding(x.shape[3], k, 2)
      x = F.relu(norm(conv(F.pad(x, (left, right, top, bottom)))))
    x = F.relu(self.fc1(x.flatten(1)))
    return self.fc2(x)


def _t(a) -> torch.Tensor:
  return torch.from_numpy(np.array(a, np.float32))


def to_torch(model, variables, input_hw=(28, 28)) -> TorchSmallCNN:
  """The torch twin of a Flax `SmallCNN` with its `variables` (eval mode, float32)."""
  params = variables["params"]
  in_channels = np.shape(params["Conv_0"]["kernel"])[2]
  twin = TorchSmallCNN(in_channels, model.num_classes, tuple(model.mean), tuple(model.std),
                       tuple(model.features), model.kernel_size, model.hidden,
                       model.batchnorm, input_hw)
  with torch.no_grad():
    for i, (conv, norm) in enumerate(zip(twin.convs, twin.norms)):
      p = params[f"Conv_{i}"]
      conv.weight.copy_(_t(np.transpose(p["kernel"], (3, 2, 0, 1))))  # HWIO -> OIHW
      if conv.bias is not None:
        conv.bias.copy_(_t(p["bias"]))
      if model.batchnorm:
        bn, stats = params[f"BatchNorm_{i}"], variables["batch_stats"][f"BatchNorm_{i}"]
        norm.weight.copy_(_t(bn["scale"]))
        norm.bias.copy_(_t(bn["bias"]))
        norm.running_mean.copy_(_t(stats["mean"]))
        norm.running_var.copy_(_t(stats["var"]))
    c, h, w = twin.flat_chw
    kernel = np.asarray(params["Dense_0"]["kernel"])  # [(h, w, c), hidden]
    kernel = kernel.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(c * h * w, -1)
    twin.fc1.weight.copy_(_t(kernel.T))
    twin.fc1.bias.copy_(_t(params["Dense_0"]["bias"]))
    twin.fc2.weight.copy_(_t(np.asarray(params["Dense_1"]["kernel"]).T))
    twin.fc2.bias.copy_(_t(params["Dense_1"]["bias"]))
  return twin.eval().float()
