"""Linear and multilayer-perceptron classifiers on flattened images."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn

from jaxrobust.models.layers import Normalize


class Linear(nn.Module):
  """Logits = W vec(x) + b. Input [batch, h, w, c] -> [batch, num_classes]."""
  num_classes: int
  mean: Sequence[float]
  std: Sequence[float]

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train  # no train-time behaviour
    x = Normalize(self.mean, self.std)(x)
    return nn.Dense(self.num_classes)(x.reshape(x.shape[0], -1))


class MLP(nn.Module):
  """Fully connected ReLU network. Input [batch, h, w, c] -> [batch, num_classes]."""
  num_classes: int
  mean: Sequence[float]
  std: Sequence[float]
  hidden: Sequence[int] = (256, 256)

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train
    x = Normalize(self.mean, self.std)(x)
    x = x.reshape(x.shape[0], -1)
    for width in self.hidden:
      x = nn.relu(nn.Dense(width)(x))
    return nn.Dense(self.num_classes)(x)
