"""PGD-AT of a PreAct ResNet-18 on CIFAR-10 (Rice et al. 2020 recipe), for a GPU/TPU.

Needs CIFAR-10 prepared with TFDS (see BUILD.md):
  python -m experiments.train --config=experiments/configs/cifar10_pgd_at.py \
      --config.data_dir=DIR --workdir=runs/cifar10_pgd_at

References: Madry et al., ICLR 2018; Rice, Wong & Kolter, "Overfitting in
adversarially robust deep learning", ICML 2020 (eps 8/255, step 2/255, 10
steps, SGD 0.1 with momentum 0.9, weight decay 5e-4, decay x0.1 at 50%/75%).
"""

import ml_collections

from experiments.configs import default


def get_config() -> ml_collections.ConfigDict:
  c = default.get_config()
  c.dataset = "cifar10"
  c.epochs = 200
  c.batch_size = 128
  c.eval_batch_size = 500
  c.model = ml_collections.ConfigDict({"name": "preact_resnet18"})
  eps = 8 / 255
  c.defense = ml_collections.ConfigDict({
      "name": "pgd_at",
      "attack": {"name": "pgd", "eps": eps, "step_size": 2 / 255, "steps": 10}})
  c.optimizer = ml_collections.ConfigDict({
      "name": "sgd", "learning_rate": 0.1, "schedule": "piecewise", "momentum": 0.9,
      "nesterov": False, "warmup_steps": 0, "weight_decay": 5e-4})
  c.augment = ml_collections.ConfigDict({"crop_padding": 4, "flip": True})
  c.eval.eps = eps
  return c
