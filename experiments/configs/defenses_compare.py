"""PGD-AT, TRADES, MART and BAT on mnist5k with one budget (issue 5, experiment 4a).

The default run (small CNN, Adam 1e-3 cosine, eps 0.1 Linf, 10 inner steps of
eps / 4) with the CO monitor on; `python -m experiments.defenses_compare` trains
each defense in `compare` with this config and prints one table. eval.attacks
is the slot for more final attacks (e.g. "autoattack" once it is registered in
experiments.pipeline.EVAL_ATTACKS).
"""

import ml_collections

from experiments.configs import default


def get_config() -> ml_collections.ConfigDict:
  c = default.get_config()
  c.epochs = 5
  c.progress = False
  c.monitor.enabled = True
  c.eval.attacks = ("pgd", "fgsm")
  c.compare = ("pgd_at", "trades", "mart", "bat")
  return c
