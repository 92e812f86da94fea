"""The main job: PGD adversarial training of the small CNN on mnist5k (offline).

eps = 0.1 (Linf, pixel space [0, 1]): a third of the usual MNIST budget (0.3),
which needs ~100 epochs on 60k images (Madry et al.); with 4,000 images and a
few CPU minutes, 0.1 gives a model whose PGD-20 accuracy is far above chance
and still a meaningful threat (it visibly breaks a standard model).
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
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
  # One section serves every defense (jaxrobust.defenses.registry.from_config):
  # each takes the fields it has, e.g. --config.defense.name=trades
  # --config.defense.beta=6.0. beta: TRADES / MART / BAT weight; bridges, inner:
  # BAT; lam: GradAlign; gamma, awp_base: AWP; squeeze: logit squeezing. Fast AT's
  # step_ratio / random_start / co_checkpoints live in configs/fast_at_co.py.
  c.defense = ml_collections.ConfigDict({
      "name": "pgd_at", "eps": eps, "step_size": eps / 4, "steps": 10,
      "beta": 6.0, "bridges": 5, "inner": "kl", "lam": 0.2, "gamma": 5e-3,
      "awp_base": "pgd_at", "squeeze": 0.05})
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

  c.optimizer = ml_collections.ConfigDict({
      "name": "adam", "learning_rate": 1e-3, "schedule": "cosine",
      "warmup_steps": 0, "weight_decay": 0.0})
  # Sharpness-aware wrapper (jaxrobust.optim): rho = 0 keeps the base optimizer;
  # kind "sam" | "asam" (eta) | "psatt" (period), e.g. --config.optimizer.sam.rho=0.05.
  c.optimizer.sam = ml_collections.ConfigDict({
      "rho": 0.0, "kind": "sam", "eta": 0.01, "period": 1})

  c.augment = ml_collections.ConfigDict({"crop_padding": 0, "flip": False})

  # Final evaluation on the test split: PGD-20 with Madry's 2.5 * eps / steps.
  # attacks: names from experiments.pipeline.EVAL_ATTACKS ("pgd" is PGD-<steps>).
  c.eval = ml_collections.ConfigDict({
      "eps": eps, "steps": 20, "step_size": 2.5 * eps / 20, "attacks": ("pgd",)})
  return c
