r"""Evaluation of a RobustBench zoo entry (jaxrobust.models.zoo) from its checkpoint.

  python -m experiments.evaluate --zoo=Carmon2019Unlabeled --checkpoint=Carmon2019Unlabeled.pt \
      --config=experiments/configs/evaluation/zoo.py --config.data_dir=DIR

The entry fixes the architecture, its normalization and the dataset; the threat model
(eps, norm) is the entry's leaderboard's unless set here. The defaults are the
leaderboard's protocol: the whole test split, AutoAttack at the reference budgets.
"""

import ml_collections
from ml_collections.config_dict import placeholder

from experiments.configs.evaluation import default


def get_config() -> ml_collections.ConfigDict:
  c = default.get_config()
  c.num_examples = 0  # the whole split, as the leaderboard
  c.attacks = "autoattack"
  c.eps = placeholder(float)  # None: the entry's (8/255, 0.5, 4/255, ...)
  c.norm = placeholder(str)  # None: the entry's threat model ("linf", "l2")
  c.curve.eps = placeholder(tuple)  # None: (0, 1/4, 1/2, 3/4, 1, 3/2, 2) x eps
  c.sha256 = ""  # the checkpoint's expected sha256 ("" = not checked)
  return c
