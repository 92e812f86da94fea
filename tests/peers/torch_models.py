"""PyTorch twins of the Flax models, with weights converted by `jaxrobust.models.convert`.

The reference implementations (torchattacks) attack torch modules; the parity
tests and bench/attacks.py give them the same function as our Flax model:
same weights, same normalisation inside the model, NCHW inputs in [0, 1].

`to_torch` exports a Flax SmallCNN's variables with the library's converter
(conv kernels HWIO -> OIHW; the first dense layer's input rows permuted from
the NHWC flatten of Flax to torch's NCHW one). What the converter cannot know
is handled by the twin: Flax "SAME" padding with stride 2 on an even size pads
asymmetrically (k=3 on 28: low 0, high 1), torch's `padding=1` symmetrically,
so the twin pads explicitly with `F.pad`.

The RobustBench-layout twins (`TorchPreActResNet18`, `TorchWideResNet`) and
the torchvision-layout `TorchResNet` follow those codebases' module names and
forward passes; tests/models/test_torch_import.py imports their random weights
into the Flax models.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from jaxrobust import models
from jaxrobust.losses import cross_entropy
from jaxrobust.models import convert


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


def to_torch(model, variables, input_hw=(28, 28)) -> TorchSmallCNN:
  """The torch twin of a Flax `SmallCNN` with its `variables` (eval mode, float32)."""
  in_channels = np.shape(variables["params"]["Conv_0"]["kernel"])[2]
  twin = TorchSmallCNN(in_channels, model.num_classes, tuple(model.mean), tuple(model.std),
                       tuple(model.features), model.kernel_size, model.hidden,
                       model.batchnorm, input_hw)
  state = convert.export_state_dict(model, variables, (*input_hw, in_channels))
  state = {k: torch.from_numpy(v) for k, v in state.items()}
  state.update(mean=twin.mean, std=twin.std)  # the twin's own normalisation buffers
  twin.load_state_dict(state)  # strict: every tensor of the twin is set
  return twin.eval().float()


class TorchPreActBlock(nn.Module):
  """RobustBench's PreActBlockV2 (Wong et al.'s): the shortcut sees the pre-activated input."""

  def __init__(self, in_planes, planes, stride=1):
    super().__init__()
    self.bn1 = nn.BatchNorm2d(in_planes)
    self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
    self.bn2 = nn.BatchNorm2d(planes)
    self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
    if stride != 1 or in_planes != planes:
      self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False))

  def forward(self, x):
    out = F.relu(self.bn1(x))
    shortcut = self.shortcut(out) if hasattr(self, "shortcut") else x
    out = self.conv1(out)
    out = self.conv2(F.relu(self.bn2(out)))
    return out + shortcut


class TorchPreActResNet18(nn.Module):
  """RobustBench's PreActResNet(PreActBlockV2, bn_before_fc=True) (width 64 there), NCHW."""

  def __init__(self, num_classes=10, width=64):
    super().__init__()
    self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
    planes, layers = width, []
    for s in range(4):
      out = width * 2 ** s
      layers.append(nn.Sequential(TorchPreActBlock(planes, out, 1 if s == 0 else 2),
                                  TorchPreActBlock(out, out)))
      planes = out
    self.layer1, self.layer2, self.layer3, self.layer4 = layers
    self.bn = nn.BatchNorm2d(planes)
    self.linear = nn.Linear(planes, num_classes)

  def forward(self, x):
    out = self.conv1(x)
    out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
    out = F.relu(self.bn(out))
    return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


class TorchWRNBlock(nn.Module):
  """RobustBench's WideResNet BasicBlock (the Madry / TRADES / Carmon code)."""

  def __init__(self, in_planes, out_planes, stride):
    super().__init__()
    self.bn1 = nn.BatchNorm2d(in_planes)
    self.relu1 = nn.ReLU()
    self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride, 1, bias=False)
    self.bn2 = nn.BatchNorm2d(out_planes)
    self.relu2 = nn.ReLU()
    self.conv2 = nn.Conv2d(out_planes, out_planes, 3, 1, 1, bias=False)
    self.equal_in_out = in_planes == out_planes
    self.convShortcut = None if self.equal_in_out else nn.Conv2d(
        in_planes, out_planes, 1, stride, 0, bias=False)

  def forward(self, x):
    if not self.equal_in_out:
      x = self.relu1(self.bn1(x))
      out = x
    else:
      out = self.relu1(self.bn1(x))
    out = self.conv2(self.relu2(self.bn2(self.conv1(out))))
    return (x if self.equal_in_out else self.convShortcut(x)) + out


class TorchNetworkBlock(nn.Module):
  def __init__(self, blocks, in_planes, out_planes, stride):
    super().__init__()
    self.layer = nn.Sequential(*[TorchWRNBlock(in_planes if i == 0 else out_planes, out_planes,
                                               stride if i == 0 else 1) for i in range(blocks)])

  def forward(self, x):
    return self.layer(x)


class TorchWideResNet(nn.Module):
  """RobustBench's WideResNet; sub_block1=True adds TRADES' unused block (in the
  state_dict, never in the forward pass)."""

  def __init__(self, depth=28, widen_factor=10, num_classes=10, sub_block1=False):
    super().__init__()
    n = (depth - 4) // 6
    channels = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
    self.conv1 = nn.Conv2d(3, channels[0], 3, 1, 1, bias=False)
    self.block1 = TorchNetworkBlock(n, channels[0], channels[1], 1)
    if sub_block1:
      self.sub_block1 = TorchNetworkBlock(n, channels[0], channels[1], 1)
    self.block2 = TorchNetworkBlock(n, channels[1], channels[2], 2)
    self.block3 = TorchNetworkBlock(n, channels[2], channels[3], 2)
    self.bn1 = nn.BatchNorm2d(channels[3])
    self.relu = nn.ReLU()
    self.fc = nn.Linear(channels[3], num_classes)

  def forward(self, x):
    out = self.block3(self.block2(self.block1(self.conv1(x))))
    out = self.relu(self.bn1(out))
    return self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))


class TorchBasicBlock(nn.Module):
  """torchvision's BasicBlock."""
  expansion = 1

  def __init__(self, in_planes, planes, stride=1):
    super().__init__()
    self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
    self.bn1 = nn.BatchNorm2d(planes)
    self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
    self.bn2 = nn.BatchNorm2d(planes)
    self.downsample = _downsample(in_planes, planes, stride)

  def forward(self, x):
    out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
    return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class TorchBottleneck(nn.Module):
  """torchvision's Bottleneck (v1.5: the stride sits in the 3x3 convolution)."""
  expansion = 4

  def __init__(self, in_planes, planes, stride=1):
    super().__init__()
    self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
    self.bn1 = nn.BatchNorm2d(planes)
    self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
    self.bn2 = nn.BatchNorm2d(planes)
    self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
    self.bn3 = nn.BatchNorm2d(planes * 4)
    self.downsample = _downsample(in_planes, planes * 4, stride)

  def forward(self, x):
    out = F.relu(self.bn1(self.conv1(x)))
    out = F.relu(self.bn2(self.conv2(out)))
    out = self.bn3(self.conv3(out))
    return F.relu(out + (x if self.downsample is None else self.downsample(x)))


def _downsample(in_planes, out_planes, stride):
  if stride == 1 and in_planes == out_planes:
    return None
  return nn.Sequential(nn.Conv2d(in_planes, out_planes, 1, stride, bias=False),
                       nn.BatchNorm2d(out_planes))


class TorchResNet(nn.Module):
  """torchvision's ResNet (width 64 there): 7x7 stride-2 stem, max pool, four stages."""

  def __init__(self, depth=50, num_classes=1000, width=64):
    super().__init__()
    block, counts = {18: (TorchBasicBlock, (2, 2, 2, 2)),
                     50: (TorchBottleneck, (3, 4, 6, 3))}[depth]
    self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
    self.bn1 = nn.BatchNorm2d(width)
    self.maxpool = nn.MaxPool2d(3, 2, 1)
    planes, layers = width, []
    for s, n in enumerate(counts):
      blocks = []
      for b in range(n):
        blocks.append(block(planes, width * 2 ** s, (1 if s == 0 else 2) if b == 0 else 1))
        planes = width * 2 ** s * block.expansion
      layers.append(nn.Sequential(*blocks))
    self.layer1, self.layer2, self.layer3, self.layer4 = layers
    self.fc = nn.Linear(planes, num_classes)

  def forward(self, x):
    x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
    x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
    return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def randomize_batchnorm(module: nn.Module, seed: int = 0) -> nn.Module:
  """Non-trivial BatchNorm affine parameters and running statistics, in place; eval mode."""
  g = torch.Generator().manual_seed(seed)
  with torch.no_grad():
    for m in module.modules():
      if isinstance(m, nn.BatchNorm2d):
        c = m.num_features
        m.weight.copy_(0.5 + torch.rand(c, generator=g))
        m.bias.copy_(0.2 * torch.randn(c, generator=g))
        m.running_mean.copy_(0.2 * torch.randn(c, generator=g))
        m.running_var.copy_(0.5 + torch.rand(c, generator=g))
        m.num_batches_tracked.fill_(100)
  return module.eval()


def logits_and_input_grads(twin, model, variables, x, y):
  """(z_jax, g_jax, z_torch, g_torch) as numpy: logits [batch, classes] and gradients of the
  summed cross-entropy w.r.t. the NHWC inputs x, of our model and of its torch twin."""

  def loss(variables, x):  # variables as an argument: no weights baked into the program
    z = models.as_logits_fn(model, variables)(x)
    return jnp.sum(cross_entropy(z, y)), z

  (_, z_jax), g_jax = jax.jit(jax.value_and_grad(loss, argnums=1, has_aux=True))(variables, x)
  xt = nhwc_to_nchw(x).requires_grad_(True)
  z_torch = twin(xt)
  (g_torch,) = torch.autograd.grad(
      F.cross_entropy(z_torch, torch.from_numpy(np.array(y)).long(), reduction="sum"), xt)
  return (np.asarray(z_jax), np.asarray(g_jax), z_torch.detach().numpy(),
          nchw_to_nhwc(g_torch))
