"""Linear and multilayer-perceptron classifiers on flattened images."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn

from jaxrobust.models.heads import apply_head
from jaxrobust.models.layers import Classifier, Normalize


class Linear(Classifier):
  """Logits = W vec(x) + b. Input [batch, h, w, c] -> [batch, num_classes]."""
  head: str = "identity"  # output map from jaxrobust.models.heads

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train  # no train-time behaviour
    x = Normalize(self.mean, self.std)(x)
    return apply_head(self.head, nn.Dense(self.num_classes)(x.reshape(x.shape[0], -1)))


class MLP(Classifier):
  """Fully connected ReLU network. Input [batch, h, w, c] -> [batch, num_classes]."""
  hidden: Sequence[int] = (256, 256)
  head: str = "identity"  # output map from jaxrobust.models.heads

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train
    x = Normalize(self.mean, self.std)(x)
    x = x.reshape(x.shape[0], -1)
    for width in self.hidden:
      x = nn.relu(nn.Dense(width)(x))
    return apply_head(self.head, nn.Dense(self.num_classes)(x))
