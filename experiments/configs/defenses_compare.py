"""PGD-AT, TRADES, MART and BAT on mnist5k with one budget (issue 5, experiment 4a).

The default run (small CNN, Adam 1e-3 cosine, eps 0.1 Linf, 10 inner steps of
eps / 4) with the CO monitor on; `python -m experiments.defenses_compare` trains
each defense in `compare` with this config, each against its paper's attack at
the shared `budget` (default.defense_section, e.g. --config.budget.steps=20),
and prints one table; AutoAttack
rows come from `python -m experiments.evaluate --workdir=<dir>/pgd_at
--workdir=<dir>/trades --workdir=<dir>/mart --workdir=<dir>/bat` (one vmapped run).

Measured (seed 0, 5 epochs; clean / PGD-20 / FGSM on the 1,000 test images, %;
then AutoAttack standard on the first 200):
  PGD-AT 96.3 / 87.6 / 89.1, AA 88.0;  TRADES 96.1 / 89.1 / 89.9, AA 88.0;
  MART 95.6 / 86.3 / 86.8, AA 85.5;    BAT 96.9 / 86.9 / 88.8, AA 86.0.
"""

import ml_collections

from experiments.configs import default


def get_config() -> ml_collections.ConfigDict:
  c = default.get_config()
  c.epochs = 5
  c.progress = False
  c.monitor.enabled = True
  c.eval.attacks = "pgd20,fgsm"
  c.compare = ("pgd_at", "trades", "mart", "bat")
  c.budget = ml_collections.ConfigDict(
      {k: v for k, v in c.defense.attack.items() if k != "name"})
  c.monitor.eps = c.budget.get_ref("eps")  # every entry, standard training included
  return c
