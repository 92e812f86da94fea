"""A small MLP for one-step forecasting from a sliding window of a series."""

from __future__ import annotations

import flax.linen as nn
import jax

from jaxrobust.models.layers import check_structure


class ForecastMLP(nn.Module):
  """Predicts the change from the window's last value, from the window minus
  that value (as NLinear does): trends that leave the training range (co2)
  stay within what the network has seen.

  References: Zeng et al., "Are Transformers Effective for Time Series
  Forecasting?", AAAI 2023 (NLinear).
  """
  hidden: int = 64

  def __post_init__(self):
    check_structure(self)
    super().__post_init__()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:  # [batch, window] -> [batch]
    last = x[:, -1]
    h = nn.relu(nn.Dense(self.hidden)(x - last[:, None]))
    h = nn.relu(nn.Dense(self.hidden)(h))
    return last + nn.Dense(1)(h)[:, 0]
