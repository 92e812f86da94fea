"""Domain Fusion at CPU scale: sklearn digits (few-shot target) + mnist5k (outer), 16x16.

`python -m experiments.domain_fusion` trains, for every seed, the GANs the
variants need and a target classifier per variant, and reports the accuracy
on the target's test split (mean +- std over seeds):

  real            the few-shot real target images only
  standard_aug    + random crop (the standard augmentation of digits; no flips)
  target_gan      + standard, and samples of the same conditional GAN trained
                  on the target alone (one domain)
  finetune_gan    + standard, and samples of the GAN pre-trained on the outer
                  dataset, then fine-tuned on the target (the paper's baseline)
  domain_fusion   + standard, and target samples of the multi-domain GAN
                  trained on the outer dataset and the target at once

Sample quality is scored by a classifier of our own (a small CNN trained on
the target's whole train split at this resolution; there are no Inception
weights offline): its accuracy on class-conditional target samples, and the
Frechet distance in its penultimate features between samples and the
target's test images (the FID formula, not comparable to published FIDs).

The target is scikit-learn's 8x8 digits upsampled to 16x16 (bilinear), the
outer mnist5k downsampled from 28x28 (antialiased): the same ten classes
(`shared_classes`) in two visibly different domains (thick, frame-filling
strokes vs. thin centred ones).

Measured (2 CPU cores shared with other jobs, load 20-35; 27 minutes), with
`--config.variants="('real','standard_aug','target_gan','domain_fusion')"
--config.seeds="(0,1)" --config.gan.epochs=1` (250 GAN steps of batch 32):
  variant          test accuracy (%)      samples: judge acc. (%)   Frechet dist.
  real             92.6 +- 1.0            real 200-image subset 98.5    3.6
  standard_aug     92.9 +- 1.0
  target_gan       92.2 +- 1.1            12.4 +- 1.6                 355 +- 33
  domain_fusion    93.3 +- 1.4             8.8 +- 1.6                 370 +- 54
At 250 steps neither GAN has learned digits (its samples are textured noise,
the judge is at chance), so the GAN rows measure noise images mixed into the
batches, not Domain Fusion: all four rows are within one std over 2 seeds.
The paper's claim is not tested at this budget; it needs a longer run
(`--config.gan.epochs=10` or more; the notebook's learning rate 1e-3 learns
faster) than this shared CPU allowed.

`get_config("tiny")`: seconds, for tests. `get_config("paper")`: the paper's
setting, CIFAR-100 reduced to 50 images per class (5,000, as in the paper)
with CIFAR-10 as the outer dataset, 32x32, from TFDS (prepare them in
`data_dir`; nothing is downloaded), sized for one GPU.
"""

import ml_collections

VARIANTS = ("real", "standard_aug", "target_gan", "finetune_gan", "domain_fusion")


def get_config(mode: str = "default") -> ml_collections.ConfigDict:
  modes = ("default", "tiny", "paper")
  if mode not in modes:
    raise ValueError(f"Unknown config mode {mode!r}; valid choices: {modes}.")
  c = ml_collections.ConfigDict()
  c.seeds = (0, 1, 2)
  c.progress = False
  c.data_dir = ""  # TFDS data_dir (the paper config); "" = TFDS default
  c.variants = VARIANTS

  c.data = ml_collections.ConfigDict({
      "target": "digits", "outer": "mnist5k", "resolution": 16,
      "per_class": 20,           # few-shot target: 200 images
      "shared_classes": True,    # outer class k is target class k
      "max_outer": 0,            # 0: the whole outer train split
  })

  c.gan = ml_collections.ConfigDict({
      "latent_dim": 32, "g_features": (32, 16), "d_features": (16, 32), "embed_dim": 16,
      "spectral_norm": True, "loss": "hinge",
      "g_learning_rate": 2e-4, "d_learning_rate": 2e-4, "b1": 0.5, "b2": 0.999,
      "batch_size": 32,
      "epochs": 2,               # of `epoch_size` examples each (the same for every GAN)
      "epoch_size": 8000,        # = Domain Fusion's natural epoch here (4,000 outer + target)
      "target_fraction": 0.5,    # of each Domain Fusion epoch (the target is repeated)
      "pretrain_epochs": 2,      # finetune_gan: epochs on the outer dataset first
  })

  c.augment = ml_collections.ConfigDict({
      "crop_padding": 2, "flip": False,   # digits: no flips
      "synthetic_fraction": 0.5,          # of every classifier batch
      "pool_per_class": 200,              # generated target images per class
  })

  c.classifier = ml_collections.ConfigDict({
      "model": ml_collections.ConfigDict({"name": "small_cnn", "features": (16, 32),
                                          "hidden": 64}),
      "steps": 600, "batch_size": 64, "learning_rate": 1e-3,
  })
  # The judge of sample quality: a small_cnn (`judge.model`, default the classifier's)
  # trained on the target's whole train split.
  c.judge = ml_collections.ConfigDict({"steps": 800, "samples_per_class": 100})
  c.grid_per_class = 8  # sample grid: columns per class row

  if mode == "tiny":
    c.seeds = (0,)
    c.variants = ("real", "target_gan", "domain_fusion")
    c.data.per_class = 5
    c.data.max_outer = 200
    c.gan.update({"g_features": (8, 8), "d_features": (8, 8), "latent_dim": 8,
                  "embed_dim": 4, "batch_size": 16, "epochs": 1, "epoch_size": 64,
                  "pretrain_epochs": 1})
    c.augment.pool_per_class = 4
    c.classifier.model.update({"features": (4, 8), "hidden": 16})
    c.classifier.update({"steps": 5, "batch_size": 16})
    c.judge.update({"steps": 5, "samples_per_class": 4})
    c.grid_per_class = 2
  if mode == "paper":
    c.seeds = (0, 1, 2)
    c.data.update({"target": "cifar100", "outer": "cifar10", "resolution": 32,
                   "per_class": 50, "shared_classes": False})
    c.gan.update({"latent_dim": 128, "g_features": (256, 128, 64), "d_features": (64, 128, 256),
                  "embed_dim": 128, "batch_size": 128, "epochs": 100, "epoch_size": 50000,
                  "pretrain_epochs": 50})
    c.augment.update({"crop_padding": 4, "flip": True, "pool_per_class": 500})
    c.classifier.model = ml_collections.ConfigDict({"name": "preact_resnet18"})
    c.classifier.update({"steps": 20000, "batch_size": 128, "learning_rate": 1e-3})
    c.judge = ml_collections.ConfigDict({
        "model": {"name": "small_cnn", "features": (64, 128), "hidden": 256},
        "steps": 20000, "samples_per_class": 100})
  return c
