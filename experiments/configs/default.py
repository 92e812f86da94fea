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

  c.model = ml_collections.ConfigDict({"name": "small_cnn"})
  # Options besides `name` go to the model, e.g. --config.model.batchnorm=True.

  eps = 0.1
  c.defense = ml_collections.ConfigDict({
      "name": "pgd_at", "eps": eps, "step_size": eps / 4, "steps": 10})

  c.optimizer = ml_collections.ConfigDict({
      "name": "adam", "learning_rate": 1e-3, "schedule": "cosine",
      "warmup_steps": 0, "weight_decay": 0.0})

  c.augment = ml_collections.ConfigDict({"crop_padding": 0, "flip": False})

  # Final evaluation on the test split: PGD-20 with Madry's 2.5 * eps / steps.
  c.eval = ml_collections.ConfigDict({
      "eps": eps, "steps": 20, "step_size": 2.5 * eps / 20})
  return c
