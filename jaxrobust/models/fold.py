"""BatchNorm folded into the preceding convolution: an equivalent BatchNorm-free model.

In eval mode a BatchNorm is the per-channel affine map v * s + t (s = gamma /
sqrt(var + eps), t = beta - mean * s). Directly after a convolution it folds into
that convolution exactly: kernel * s (per output channel) and bias t (the conv has
no bias of its own when followed by BatchNorm). The norm-based measures of Jiang et
al. 2020 then see the weights the network actually applies.

A BatchNorm that is not directly after a linear layer (the pre-activation
BN-ReLU-conv of PreActResNet and WideResNet) has no exact fold: those models are
refused.

References: Jiang et al., "Fantastic Generalization Measures and Where to Find
Them", ICLR 2020 (their networks' BatchNorm is folded into the weights before
measuring); Ioffe & Szegedy 2015 (BatchNorm in inference).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn

from jaxrobust.models.cnn import SmallCNN
from jaxrobust.models.layers import batch_norm_affine


def fold_batchnorm(model: nn.Module, variables: Any) -> tuple[nn.Module, Any]:
  """(model', params') with model'.apply({"params": params'}, x) equal to
  model.apply(variables, x, train=False) for every x, and no BatchNorm in model'.

  Args:
    model: a SmallCNN (with or without BatchNorm), or any model whose variables hold
      no "batch_stats" (returned as is).
    variables: {"params": ..., "batch_stats": ...} of `model`; pure jnp, so it can be
      vmapped over a population's stacked variables (model' is the same for all).
  Raises:
    TypeError: a model with BatchNorm statistics whose BatchNorm cannot be folded
      exactly (not directly after a convolution).
  """
  if not hasattr(variables, "keys") or "params" not in variables:
    raise ValueError("variables must be the model's {'params': ..., 'batch_stats': ...}, got "
                     f"{type(variables).__name__} with keys "
                     f"{sorted(variables) if hasattr(variables, 'keys') else None}.")
  if "batch_stats" not in variables:
    return model, variables["params"]
  if type(model) is not SmallCNN:
    raise TypeError(
        f"fold_batchnorm folds BatchNorm that directly follows a convolution, as in "
        f"SmallCNN(batchnorm=True); a {type(model).__name__} has BatchNorm statistics but "
        "its BatchNorm is not foldable exactly (pre-activation BatchNorm-ReLU-conv, or a "
        "model the fold does not know). Measure its kernels alone with the norm family's "
        "batchnorm='ignore'.")
  params = dict(variables["params"])
  for i in range(len(model.features)):
    scale, shift = batch_norm_affine(variables["batch_stats"][f"BatchNorm_{i}"],
                                     params.pop(f"BatchNorm_{i}"))
    conv = params[f"Conv_{i}"]
    bias = conv["bias"] * scale if "bias" in conv else 0.0
    params[f"Conv_{i}"] = {"kernel": conv["kernel"] * scale, "bias": bias + shift}
  return model.clone(batchnorm=False), params
