"""Evaluation of trained models: AutoAttack at the reference budgets, PGD, a curve.

Matches the default training config's threat model (Linf, eps 0.1 on mnist5k).
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.data_dir = ""  # TFDS data_dir for TFDS datasets; "" = TFDS default
  c.split = "test"
  c.num_examples = 1000  # first n examples of the split; 0 = all
  c.batch_size = 500
  c.progress = True
  c.eps = 0.1
  c.norm = "linf"
  # Names of jaxrobust.attacks.registry.ATTACKS (with a radius), comma-separated,
  # each optionally followed by its steps (pgd20; see jaxrobust.eval.suite); ensembles
  # (autoattack, autoattack_plus, autoattack_rand; AutoAttack's hyphenated names are aliases) attack only the points
  # still robust, at the reference budgets below.
  c.attacks = "pgd20,autoattack"
  c.steps = 100  # APGD / FAB iterations (AutoAttack reference)
  c.n_queries = 5000  # Square queries (AutoAttack reference)
  # Robustness curve: PGD at these radii, one compiled call per batch.
  c.curve = ml_collections.ConfigDict({
      "eps": (0.0, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3), "steps": 20})
  # Gradient-masking checks on the first `num_examples` points (0 = off).
  c.diagnostics = ml_collections.ConfigDict({"num_examples": 200, "huge_eps_steps": 50})
  # Certified accuracy at eps beside the attacks (jaxrobust.certify): bound methods,
  # comma-separated ("ibp,crown,crown_ibp"; "" = off), and examples bounded at a time.
  c.certify = ml_collections.ConfigDict({"methods": "", "chunk": 16})
  return c
