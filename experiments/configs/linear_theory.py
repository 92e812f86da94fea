"""Numerics of linear adversarial losses (experiments/linear_theory.py).

`--config=experiments/configs/linear_theory.py:tiny` is a seconds-long variant
for smoke tests. Digits pixels are in [0, 1] (64 features), so an L2 radius of
1.0 is about an eighth of a typical image's norm.
"""

import ml_collections


def get_config(mode: str = "") -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.lbfgs_steps = 300

  # Overlapping Gaussian classes N(+-mu, I), ||2 mu|| = separation: a finite
  # optimum exists without weight decay.
  c.synthetic = ml_collections.ConfigDict({
      "n": 400, "dim": 10, "separation": 2.0,
      "eps": (0.0, 0.1, 0.2, 0.4, 0.6, 0.8)})
  # Digit pairs from sklearn digits (train split) as binary tasks; they are
  # (nearly) separable, so weight decay bounds w and the optimum is measured there.
  c.digits = ml_collections.ConfigDict({
      "pairs": ((0, 1), (3, 8)), "weight_decay": 1e-2,
      "eps": (0.0, 0.25, 0.5, 0.75, 1.0)})
  # Smoothness: the radius of the losses compared, finite-difference steps,
  # the eps range, and a gradient-descent trajectory.
  c.smoothness = ml_collections.ConfigDict({
      "eps": 0.3, "steps": (1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4),
      "eps_range": (0.0, 0.1, 0.2, 0.3, 0.5, 0.8),
      "trajectory_steps": 300, "learning_rate": 0.5})
  # A softmax MLP on all ten digits trained with L2 PGD-AT.
  c.network = ml_collections.ConfigDict({
      "eps": (0.0, 0.25, 0.5, 1.0), "hidden": 32, "train_steps": 300,
      "attack_steps": 10, "learning_rate": 1e-2, "weight_decay": 1e-4,
      "lanczos_iters": 30})
  c.lanczos_iters = 20
  c.trace_samples = 100

  if mode == "tiny":
    c.lbfgs_steps = 50
    c.synthetic.n, c.synthetic.dim, c.synthetic.eps = 100, 3, (0.0, 0.4)
    c.digits.pairs, c.digits.eps = ((0, 1),), (0.0, 0.5)
    c.smoothness.steps, c.smoothness.eps_range = (1e-1, 1e-3), (0.0, 0.3)
    c.smoothness.trajectory_steps = 20
    c.network.eps, c.network.hidden, c.network.train_steps = (0.0, 0.5), 8, 10
    c.network.attack_steps, c.network.lanczos_iters = 2, 5
    c.lanczos_iters, c.trace_samples = 5, 5
  elif mode:
    raise ValueError(f"Unknown config mode {mode!r}; valid: '' or 'tiny'.")
  return c
