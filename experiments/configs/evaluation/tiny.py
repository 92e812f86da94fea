"""A seconds-long evaluation for tests and smoke checks: small budgets, 200 points."""

from experiments.configs.evaluation import default


def get_config():
  c = default.get_config()
  c.num_examples = 200
  c.batch_size = 100
  c.progress = False
  c.attacks = "fgsm,pgd5,autoattack"
  c.steps = 5
  c.n_queries = 50
  c.curve.eps = (0.0, 0.05, 0.1, 0.2)
  c.curve.steps = 5
  c.diagnostics.num_examples = 100
  c.diagnostics.huge_eps_steps = 10
  return c
