"""Fast AT (FGSM from a random start, step 1.25 eps) at MNIST's large eps 0.3,
with the catastrophic-overfitting monitor on (issue 5, experiment 4b).

  python -m experiments.train --config=experiments/configs/fast_at_co.py \
      --workdir=runs/fast_at_co
  # the same run with Kim, Lee & Lee's fix (c = 3 points along the step):
  python -m experiments.train --config=experiments/configs/fast_at_co.py \
      --config.defense.co_checkpoints=3 --workdir=runs/fast_at_co_fix

References: Wong, Rice & Kolter, ICLR 2020; Kim, Lee & Lee, AAAI 2021.
"""

import ml_collections

from experiments.configs import default


def get_config() -> ml_collections.ConfigDict:
  c = default.get_config()
  c.epochs = 15
  c.progress = False
  eps = 0.3
  c.defense = ml_collections.ConfigDict({
      "name": "fast_at", "eps": eps, "step_ratio": 1.25, "random_start": True,
      "co_checkpoints": 0})
  c.monitor = ml_collections.ConfigDict({
      "enabled": True, "batch_size": 500, "eps": eps, "pgd_steps": 10, "drop": 0.2,
      "gap": 0.5})
  c.eval = ml_collections.ConfigDict({
      "eps": eps, "steps": 20, "step_size": 2.5 * eps / 20, "attacks": ("pgd", "fgsm")})
  return c
