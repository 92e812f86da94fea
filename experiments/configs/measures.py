"""Robustness measures over a grid of models on mnist5k (CPU, ~15 minutes), or the
paper's CIFAR-10 grid with `:cifar10` (a GPU job).

  python -m experiments.measures --workdir=runs/measures
  python -m experiments.measures --config=experiments/configs/measures.py:cifar10 \
      --config.train.data_dir=DIR --workdir=runs/measures_cifar10
`:tiny` is a minutes-long 4-member version for tests and smoke checks.

mnist5k grid (64 models, one population): learning_rate {1e-3, 3e-3} x weight_decay
{0, 1e-3} x train eps {0, 0.05, 0.1, 0.15} x seed {0, 1, 2, 3} = 64 members of PGD-AT
(3 steps, Adam) on a one-hidden-layer MLP (64 units), 4 epochs; the gap is
PGD-10 accuracy at eps 0.1 on 500 fixed train minus 500 fixed test points. Measures
on 256 fixed train points, adversarial inputs by PGD-10 at eps 0.1.

References: Kim, Park, Choi, Lee, "Fantastic Robustness Measures: The Secrets of
Robust Generalization", NeurIPS 2023 (grid: CIFAR-10, ResNet-18 / WRN-34-10, PGD-AT /
TRADES, eps 8/255, lr, weight decay, batch size, epochs, augmentation ...).
"""

import ml_collections

from experiments.configs import default


VARIANTS = ("mnist5k", "tiny", "cifar10")


def get_config(variant: str = "mnist5k") -> ml_collections.ConfigDict:
  if variant not in VARIANTS:
    raise ValueError(f"Unknown variant {variant!r}; valid choices: {VARIANTS}.")
  c = ml_collections.ConfigDict()
  c.seed = 0  # the measures' randomness (PAC-Bayes draws, random targets ...)
  train = default.get_config("pgd_at", attack_steps=3)
  train.epochs = 4
  train.batch_size = 100
  train.progress = False
  train.model = ml_collections.ConfigDict({"name": "mlp", "hidden": (64,)})
  train.optimizer.schedule = "constant"
  train.robust_gap.num_examples = 500
  train.robust_gap.pgd_steps = 10
  train.eval.eps = 0.1
  c.train = train
  # Population axes (jaxrobust.train.population.AXES): their product is the grid.
  c.grid = ml_collections.ConfigDict({
      "learning_rate": [1e-3, 3e-3], "weight_decay": [0.0, 1e-3],
      "eps": [0.0, 0.05, 0.1, 0.15], "seed": [0, 1, 2, 3]})
  # Axes trained one population per value, one after another (memory); [] = one
  # population of the whole grid.
  c.sequential_axes = []
  # Granulated Kendall over these axes; the others (seed) only split the groups.
  c.granulated_axes = ["learning_rate", "weight_decay", "eps"]
  c.measures = ml_collections.ConfigDict({
      "names": ["norm", "margin", "input_margin", "loss", "local_lipschitz",
                "input_gradient", "boundary_thickness", "pacbayes", "pacbayes_mag",
                "sharpness", "average_flatness", "hessian"],
      # {family: {option: value}} (jaxrobust.measures.MEASURES.options(family)).
      "options": {"input_margin": {"steps": 10}},
      "num_examples": 256,  # fixed train points the measures see
      "eps": 0.0,  # 0: train.eval.eps
      "pgd_steps": 10,
      "chunk": 16,  # members per compiled measuring call (memory)
  })
  c.scatter_plots = 4  # the strongest measures (by |tau|) against the gap

  if variant == "tiny":
    c.grid = ml_collections.ConfigDict({"learning_rate": [1e-3, 3e-3], "eps": [0.0, 0.1]})
    c.granulated_axes = ["learning_rate", "eps"]
    c.train.epochs = 1
    c.train.robust_gap.num_examples = 100
    c.measures.num_examples = 32
    c.measures.chunk = 4
    c.scatter_plots = 2

  if variant == "cifar10":
    # The paper's grid, reduced to its numeric axes (what vmaps in a population):
    # PreAct ResNet-18, PGD-AT (10 steps), lr x weight decay x train eps x seed =
    # 64 models, trained as 4 populations of 16 (one per seed).
    # Run on an accelerator; BatchNorm is not folded (norm measures on kernels).
    train = default.get_config("pgd_at", attack_steps=10)
    train.dataset = "cifar10"
    train.epochs = 100
    train.batch_size = 128
    train.progress = True
    train.model = ml_collections.ConfigDict({"name": "preact_resnet18"})
    eps = 8 / 255
    train.defense.attack.eps = eps
    train.defense.attack.step_size = 2 / 255
    train.optimizer = ml_collections.ConfigDict({
        "name": "sgd", "learning_rate": 0.1, "schedule": "piecewise", "momentum": 0.9,
        "nesterov": False, "warmup_steps": 0, "weight_decay": 5e-4})
    train.augment = ml_collections.ConfigDict({"crop_padding": 4, "flip": True})
    train.eval.eps = eps
    train.robust_gap.num_examples = 1000
    c.train = train
    c.grid = ml_collections.ConfigDict({
        "learning_rate": [0.05, 0.1], "weight_decay": [1e-4, 5e-4],
        "eps": [2 / 255, 4 / 255, 6 / 255, 8 / 255], "seed": [0, 1, 2, 3]})
    c.sequential_axes = ["seed"]  # 4 populations of 16 ResNets each
    c.measures.num_examples = 1000
    c.measures.chunk = 4
    c.measures.options = {"norm": {"batchnorm": "ignore"},
                          "boundary_thickness": {"eps": 1.0}}
  return c
