"""The main job: PGD adversarial training of the small CNN on mnist5k (offline).

eps = 0.1 (Linf, pixel space [0, 1]): a third of the usual MNIST budget (0.3),
which needs ~100 epochs on 60k images (Madry et al.); with 4,000 images and a
few CPU minutes, 0.1 gives a model whose PGD-20 accuracy is far above chance
and still a meaningful threat (it visibly breaks a standard model).
"""

import dataclasses

import ml_collections

from jaxrobust.defenses.registry import DEFENSES

# The inner attack each defense's paper trains against (at the shared budget).
PAPER_ATTACKS = {"pgd_at": "pgd", "mart": "pgd", "logit_squeeze": "pgd",
                 "trades": "tpgd", "bat": "pgd", "graddiv": "pgd"}


def defense_section(name: str, budget) -> ml_collections.ConfigDict:
  """The config section of defense `name`: its own fields at their defaults and
  `attack`, its paper's attack at `budget` ({"eps", "step_size", "steps"}; None:
  no attack, for logit squeezing). AWP perturbs PGD-AT (its `base` section);
  fast AT and GradAlign take budget["eps"] for their own single step."""
  own = {f.name: f.default for f in dataclasses.fields(DEFENSES.entry(name).build)
         if f.default is not dataclasses.MISSING}
  if "eps" in own and budget is not None:
    own["eps"] = budget["eps"]
  if name == "awp":
    own["base"] = defense_section("pgd_at", budget)
  elif name in PAPER_ATTACKS:
    own["attack"] = None if budget is None else {"name": PAPER_ATTACKS[name], **budget}
  return ml_collections.ConfigDict({"name": name, **own})


def get_config(defense: str = "pgd_at", attack_steps: int = 10) -> ml_collections.ConfigDict:
  """`--config=experiments/configs/default.py:trades` trains another defense."""
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.dataset = "mnist5k"
  c.data_dir = ""  # TFDS data_dir for TFDS datasets; "" = TFDS default
  c.epochs = 10
  c.batch_size = 100
  c.eval_batch_size = 500
  c.progress = True

  c.model = ml_collections.ConfigDict({"name": "small_cnn", "head": "identity"})
  # Options besides `name` go to the model, e.g. --config.model.batchnorm=True;
  # head: the output map (jaxrobust.models.heads): identity, sigsoftmax, tanh, bounded_logit.

  eps = 0.1
  # The chosen defense's own fields and its inner attack, 10 steps of eps / 4
  # (jaxrobust.defenses.from_config), e.g. --config.defense.attack.steps=20, or
  # with `:trades`, --config.defense.beta=3.0; an option the defense does not
  # have is an error naming its options. AWP's objective is --config.defense.base.
  c.defense = defense_section(
      defense, {"eps": eps, "step_size": eps / 4, "steps": attack_steps})
  # Absum (Kanai et al., AAAI 2020): weight of sum over conv filters of
  # |sum of the filter's weights|, applied by its proximal step; 0 = off.
  c.regularizer = ml_collections.ConfigDict({"absum": 0.0})
  # Catastrophic-overfitting monitor: FGSM and PGD accuracy on the first
  # `batch_size` test images after every epoch (eps 0 = the defense's eps);
  # flags PGD accuracy falling > drop below its best while FGSM accuracy rises,
  # or FGSM accuracy > PGD accuracy + gap (jaxrobust.train.monitor.detect_collapse).
  c.monitor = ml_collections.ConfigDict({
      "enabled": False, "batch_size": 500, "eps": 0.0, "pgd_steps": 10, "drop": 0.2,
      "gap": 0.5})

  # Robust overfitting, every run: PGD-<pgd_steps> accuracy on `num_examples` fixed
  # train and test points after every epoch, logged as robust_train_accuracy,
  # robust_test_accuracy and robust_gap (their difference); eps 0 = eval.eps in
  # eval.norm (an eps set here is Linf); num_examples 0 = off
  # (jaxrobust.train.loop.build_robust_gap).
  c.robust_gap = ml_collections.ConfigDict({
      "num_examples": 256, "eps": 0.0, "pgd_steps": 10, "seed": 0})

  c.optimizer = ml_collections.ConfigDict({
      "name": "adam", "learning_rate": 1e-3, "schedule": "cosine",
      "warmup_steps": 0, "weight_decay": 0.0})
  # Sharpness-aware wrapper (jaxrobust.optim): rho = 0 keeps the base optimizer;
  # kind "sam" | "asam" (eta) | "psatt" (period; direction "update", the
  # authors' previous-step rule, or "gradient"), e.g. --config.optimizer.sam.rho=0.05.
  c.optimizer.sam = ml_collections.ConfigDict({
      "rho": 0.0, "kind": "sam", "eta": 0.01, "period": 1, "direction": "update"})

  c.augment = ml_collections.ConfigDict({"crop_padding": 0, "flip": False})

  # Final evaluation on the test split, named as in experiments.evaluate
  # (jaxrobust.eval.suite): "pgd20" is PGD-20 with Madry's step 2.5 * eps / 20;
  # e.g. --config.eval.attacks=pgd20,fgsm,autoattack. steps / n_queries: the
  # budgets of APGD, FAB and Square (AutoAttack's reference: 100, 5000).
  c.eval = ml_collections.ConfigDict({
      "eps": eps, "norm": "linf", "attacks": "pgd20", "steps": 100, "n_queries": 5000})
  return c
