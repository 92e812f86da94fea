"""A seconds-long version of the default run, for tests and smoke checks."""

from experiments.configs import default


def get_config(defense: str = "pgd_at"):
  """`--config=experiments/configs/tiny.py:trades` trains another defense."""
  c = default.get_config(defense, attack_steps=2)
  c.epochs = 2
  c.batch_size = 100
  c.progress = False
  c.model.features = (8, 16)
  c.model.hidden = 32
  c.eval.attacks = "pgd5"
  c.robust_gap.num_examples = 128
  c.robust_gap.pgd_steps = 3
  return c
