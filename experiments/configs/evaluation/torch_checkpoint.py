r"""Evaluation of a PyTorch checkpoint (RobustBench-style) imported into our Flax models.

  python -m experiments.evaluate --torch_checkpoint=Carmon2019Unlabeled.pt \
      --config=experiments/configs/evaluation/torch_checkpoint.py \
      --config.model.name=wide_resnet --config.model.depth=28 --config.model.width=10 \
      --config.dataset=cifar10 --config.normalization=none --config.data_dir=DIR

The defaults are RobustBench's CIFAR-10 Linf threat model (eps 8/255, the whole
test split, AutoAttack at the reference budgets). Model options left unset
(None) take the model's own defaults; jaxrobust.models.convert lists the torch
layouts each model reads.
"""

import ml_collections
from ml_collections.config_dict import placeholder

from experiments.configs.evaluation import default


def get_config() -> ml_collections.ConfigDict:
  c = default.get_config()
  c.dataset = "cifar10"  # a jaxrobust.data name: its test split, classes and input shape
  # The model the checkpoint is of (jaxrobust.models.MODELS with a torch mapping:
  # preact_resnet18, wide_resnet, resnet (torchvision), small_cnn) and its options.
  c.model = ml_collections.ConfigDict({
      "name": "wide_resnet", "depth": placeholder(int), "width": placeholder(int),
      "stem_features": placeholder(int), "head": placeholder(str),
      "features": placeholder(tuple), "kernel_size": placeholder(int),
      "hidden": placeholder(int), "batchnorm": placeholder(bool)})
  # The input normalization the torch model applies to pixels in [0, 1]:
  # "checkpoint" (its own buffers, e.g. RobustBench's normalize.mean/std; an error if it
  # has none), "none" (mean 0, std 1: most RobustBench CIFAR models), "dataset" (the
  # dataset's statistics), or explicit "m1,m2,m3/s1,s2,s3".
  c.normalization = "checkpoint"
  c.num_examples = 0  # the whole split, as the leaderboard
  c.eps = 8 / 255
  c.curve.eps = tuple(k / 255 for k in (0, 2, 4, 6, 8, 12, 16))
  return c
