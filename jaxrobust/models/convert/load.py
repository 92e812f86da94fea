"""One call from a checkpoint file to a Flax model and its variables."""

from __future__ import annotations

from typing import Any, Sequence

from jaxrobust.models import registry
from jaxrobust.models.convert.readers import read_state_dict
from jaxrobust.models.convert.state_dict import MappingArg, import_state_dict, split_state_dict


def load_torch_checkpoint(path: str, name: str, *, num_classes: int,
                          input_shape: Sequence[int], mean: Sequence[float] | None = None,
                          std: Sequence[float] | None = None, mapping: MappingArg = None,
                          **options: Any):
  """Builds model `name` and fills it from the torch checkpoint at `path`.

  Args:
    path: a `.safetensors` or `.pt`/`.pth` file (see `read_state_dict`).
    name: a model of `jaxrobust.models.MODELS` ("preact_resnet18",
      "wide_resnet", "resnet", "small_cnn") or any registered one with a mapping.
    num_classes: output width of the checkpoint's classifier.
    input_shape: one input, (height, width, channels).
    mean, std: the per-channel input normalization the torch model applies to
      pixels in [0, 1]. None: the checkpoint's own normalization buffers
      (e.g. RobustBench's normalize.mean/std); an error if it has none, since a
      guess would be a silently wrong model. Many RobustBench CIFAR models
      normalize nothing: pass mean=(0, 0, 0), std=(1, 1, 1).
    mapping: a `TorchMapping` or a function (model, input_shape) -> mapping
      for an architecture without a registered one.
    **options: the model's own fields (depth, width, ...).

  Returns:
    (model, variables) for `model.apply(variables, x, train=False)` on x in [0, 1].
  """
  state = read_state_dict(path)
  _, found = split_state_dict(state)
  if mean is None and std is None:
    if found is None:
      raise ValueError(f"{path!r} carries no normalization buffers: pass the mean and std "
                       "the torch model normalizes its [0, 1] inputs with (mean=0, std=1 "
                       "for a model that normalizes nothing, as most RobustBench CIFAR models).")
    mean, std = found
    channels = input_shape[-1]
    mean, std = (tuple(mean) * channels if len(mean) == 1 else mean,
                 tuple(std) * channels if len(std) == 1 else std)
  elif mean is None or std is None:
    raise ValueError("pass both mean and std, or neither (to use the checkpoint's own).")
  model = registry.make(name, num_classes=num_classes, mean=mean, std=std, **options)
  return model, import_state_dict(state, model, input_shape, mapping=mapping)
