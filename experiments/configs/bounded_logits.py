"""Output maps against logit regularization, with and without adversarial training.

Kanai et al. (IJCNN 2021) claim that the bounded logit function before softmax
is comparable to logit regularization without adversarial training, and better
than it and than TRADES with adversarial training; and that tanh, bounded too,
does not help. One table on mnist5k (small CNN, eps 0.1, the default budget):

  python -m experiments.defenses_compare --config=experiments/configs/bounded_logits.py \\
      --workdir=runs/bounded_logits
"""

import ml_collections

from experiments.configs import defenses_compare


def get_config() -> ml_collections.ConfigDict:
  c = defenses_compare.get_config()
  c.compare = ("standard", "standard+tanh", "standard+bounded_logit", "logit_squeeze",
               "pgd_at", "pgd_at+tanh", "pgd_at+bounded_logit", "trades")
  return c
