"""Unsupervised domain adaptation: source-only, DANN, CDAN(+E) and class-conditional
alignment, their networks, the digits <-> mnist5k domain pair and the trainer."""

from jaxrobust.adaptation.alignment import class_conditional_mmd, gaussian_kernel
from jaxrobust.adaptation.cdan import CDAN
from jaxrobust.adaptation.class_conditional import ClassConditional, pseudo_labels
from jaxrobust.adaptation.conditioning import (condition, conditioning_dim, entropy,
                                               entropy_weights, multilinear_map,
                                               randomized_multilinear_map)
from jaxrobust.adaptation.dann import DANN
from jaxrobust.adaptation.data import DOMAINS, Domain, DomainPair, load_domain, load_pair, make_pair
from jaxrobust.adaptation.gradient_reversal import dann_coefficient, reverse_gradient
from jaxrobust.adaptation.networks import AdaptationNet, Discriminator
from jaxrobust.adaptation.registry import ADAPTATION_METHODS
from jaxrobust.adaptation.source_only import SourceOnly
from jaxrobust.adaptation.training import AdaptationResult, accuracy, embed, fit
