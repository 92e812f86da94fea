"""A seconds-long version of the default run, for tests and smoke checks."""

from experiments.configs import default


def get_config():
  c = default.get_config()
  c.epochs = 2
  c.batch_size = 100
  c.progress = False
  c.model.features = (8, 16)
  c.model.hidden = 32
  c.defense.steps = 2
  c.eval.steps = 5
  c.eval.step_size = 2.5 * c.eval.eps / 5
  return c
