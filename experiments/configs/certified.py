"""Certified robustness on mnist5k: standard, PGD-AT, IBP and CROWN-IBP small CNNs.

Test radius eps = 0.1 (Linf). IBP / CROWN-IBP follow Gowal et al.'s schedule
scaled to mnist5k: a warm-up at eps 0, then the training eps ramped up (kappa
1 -> 0.5 for IBP, 1 -> 0 and beta 1 -> 0 for CROWN-IBP); the training eps
exceeds the test eps (Gowal et al. train at 0.2 for 0.1 on MNIST). The small
CNN is Gowal et al.'s "small" shape scaled down (16 and 32 stride-2 3x3 convs,
100 hidden units), so that full CROWN stays affordable on a CPU.

`:tiny` is a seconds-long version for tests and smoke checks. `training_config`
turns this config into `train.fit`'s for one of its defenses (the binary and
notebooks/certified.ipynb train with it).
"""

import ml_collections

from experiments.configs import default as default_config
from jaxrobust import data
from jaxrobust.train import loop


def get_config(variant: str = "default") -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.dataset = "mnist5k"
  c.data_dir = ""
  c.progress = False
  c.model = ml_collections.ConfigDict({"name": "small_cnn", "features": (16, 32),
                                       "hidden": 100})
  c.epochs = 30
  c.batch_size = 100
  c.eval_batch_size = 500
  c.optimizer = ml_collections.ConfigDict({
      "name": "adam", "learning_rate": 1e-3, "schedule": "cosine",
      "warmup_steps": 0, "weight_decay": 0.0})
  # Models trained, comma-separated: standard, pgd_at, ibp, crown_ibp.
  c.defenses = "standard,pgd_at,ibp,crown_ibp"
  c.pgd_at = ml_collections.ConfigDict({"eps": 0.1, "step_size": 0.025, "steps": 10})
  # Certified training: eps ramp in epochs (warm-up at 0, then linear), final kappa / beta.
  c.certified_training = ml_collections.ConfigDict({
      "eps": 0.2, "warmup_epochs": 2, "ramp_epochs": 15, "ibp_kappa": 0.5,
      "crown_ibp_kappa": 0.0, "crown_ibp_beta": 0.0})
  c.eval = ml_collections.ConfigDict({
      "eps": 0.1, "norm": "linf", "num_examples": 500, "pgd_steps": 20,
      # AutoAttack (standard version) at these budgets; the reference is 100 / 5000.
      "autoattack_steps": 100, "autoattack_queries": 5000,
      "methods": "ibp,crown", "chunk": 8})
  # Curves over eps (PGD and the certificates) on the first `num_examples` points.
  c.curve = ml_collections.ConfigDict({
      "eps": (0.0, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3), "num_examples": 100})
  if variant == "tiny":
    c.model.features, c.model.hidden = (4, 8), 16
    c.epochs, c.batch_size = 2, 200
    c.defenses = "standard,ibp"
    c.certified_training.warmup_epochs, c.certified_training.ramp_epochs = 0, 1
    c.eval.num_examples, c.eval.pgd_steps = 32, 5
    c.eval.autoattack_steps, c.eval.autoattack_queries = 5, 20
    c.curve.eps, c.curve.num_examples = (0.0, 0.1), 16
  elif variant != "default":
    raise ValueError(f"Unknown variant {variant!r}; valid: 'default', 'tiny'.")
  return c


def defense_section(config: ml_collections.ConfigDict, name: str,
                    steps_per_epoch: int) -> dict:
  """The defense `name` at the config's budgets, as a `config.defense` section
  of the main job; the IBP / CROWN-IBP eps ramp in global steps."""
  t = config.certified_training
  schedule = {"eps": t.eps, "warmup_steps": t.warmup_epochs * steps_per_epoch,
              "ramp_steps": t.ramp_epochs * steps_per_epoch}
  sections = {
      "standard": {"name": "standard"},
      "pgd_at": {"name": "pgd_at", "attack": {"name": "pgd", **config.pgd_at.to_dict()}},
      "ibp": {"name": "ibp", "kappa": t.ibp_kappa, **schedule},
      "crown_ibp": {"name": "crown_ibp", "kappa": t.crown_ibp_kappa,
                    "beta": t.crown_ibp_beta, **schedule}}
  if name not in sections:
    raise ValueError(f"Unknown defense {name!r} in config.defenses; valid: "
                     f"{', '.join(sections)}.")
  return sections[name]


def training_config(config: ml_collections.ConfigDict, name: str) -> ml_collections.ConfigDict:
  """The main job's config (experiments/configs/default.py) training model `name`
  with this experiment's data, model, optimizer and schedule; no per-epoch
  monitors (the evaluation here is the report)."""
  c = default_config.get_config("standard")
  for field in ("seed", "dataset", "data_dir", "progress", "epochs", "batch_size",
                "eval_batch_size"):
    c[field] = config[field]
  c.model = ml_collections.ConfigDict(config.model.to_dict())
  c.optimizer = ml_collections.ConfigDict(config.optimizer.to_dict())
  train_size = len(loop.load_splits(c)[0].labels)
  c.defense = ml_collections.ConfigDict(defense_section(
      config, name, data.num_batches(train_size, config.batch_size)))
  c.robust_gap.num_examples = 0
  return c
