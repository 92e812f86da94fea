"""Generative models: a GAN core; missing-data imputation (GAIN, a cycle-consistent
imputation adversarial network, scikit-learn baselines, missingness generators); Domain
Fusion (a multi-domain conditional GAN for few-shot augmentation; its functions stay in
`generative.domain_fusion`, whose names such as `generate` are generic)."""

from jaxrobust.generative.gan import (GAN_LOSSES, GANState, discriminator_loss,
                                      discriminator_update,
                                      finish_step, gan_step, generator_loss,
                                      generator_update, linen_apply, run_steps, sample)
from jaxrobust.generative.missingness import (CUTS, MECHANISMS, RATES, check_incomplete,
                                              missing_mask, with_nans)
from jaxrobust.generative.gain import GAIN, HINTS, GAINStep
from jaxrobust.generative.cycle import CycleImputer, CycleStep
from jaxrobust.generative.imputers import SklearnImputer, impute, minmax_scale, rmse
from jaxrobust.generative.registry import IMPUTERS
from jaxrobust.generative import domain_fusion
from jaxrobust.generative.networks import ConditionalGenerator, ImputerMLP, ProjectionDiscriminator
