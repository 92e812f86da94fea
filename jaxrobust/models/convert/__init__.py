"""PyTorch checkpoints (RobustBench-style state_dicts) into the Flax models, and back.

    model, variables = load_torch_checkpoint(
        "Carmon2019Unlabeled.pt", "wide_resnet", depth=28, width=10,
        num_classes=10, input_shape=(32, 32, 3), mean=(0, 0, 0), std=(1, 1, 1))
    logits_fn = jaxrobust.models.as_logits_fn(model, variables)

Layouts are handled here: conv kernels OIHW -> HWIO, dense weights transposed,
BatchNorm running statistics into `batch_stats`; inputs stay NHWC in [0, 1]
with the normalization a layer of the model. A user's own architecture needs a
mapping (`register_mapping`, see `mapping`).
"""

# Importing the built-in mappings registers them.
from jaxrobust.models.convert.architectures import (dm_preact_resnet_mapping,
                                                    dm_wide_resnet_mapping, preact_resnet_mapping,
                                                    resnet_mapping, robust_wide_resnet_mapping,
                                                    small_cnn_mapping, wide_resnet_mapping)
from jaxrobust.models.convert.load import load_torch_checkpoint
from jaxrobust.models.convert.mapping import (KINDS, Layer, TorchMapping, mapping_for,
                                              register_mapping)
from jaxrobust.models.convert.readers import read_state_dict
from jaxrobust.models.convert.state_dict import (StateDictMismatchError, check_state_dict,
                                                 export_state_dict, import_state_dict,
                                                 split_state_dict)

__all__ = ["KINDS", "Layer", "StateDictMismatchError", "TorchMapping", "check_state_dict",
           "export_state_dict",
           "import_state_dict", "load_torch_checkpoint", "mapping_for", "read_state_dict",
           "register_mapping", "split_state_dict", "preact_resnet_mapping", "resnet_mapping",
           "dm_preact_resnet_mapping", "dm_wide_resnet_mapping", "robust_wide_resnet_mapping",
           "small_cnn_mapping", "wide_resnet_mapping"]
