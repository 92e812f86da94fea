"""Training objectives: each returns per-example losses for a batch."""

from jaxrobust.defenses._base import AdversarialDefense, Defense
from jaxrobust.defenses.absum import absum_penalty, absum_prox
from jaxrobust.defenses.awp import AWP
from jaxrobust.defenses.bat import BAT
from jaxrobust.defenses.crown_ibp import CROWNIBP
from jaxrobust.defenses.fast_at import FastAT
from jaxrobust.defenses.gaussian_augmentation import GaussianAugmentation
from jaxrobust.defenses.gradalign import GradAlign
from jaxrobust.defenses.graddiv import GradDiv
from jaxrobust.defenses.ibp import IBP
from jaxrobust.defenses.logit_squeeze import LogitSqueeze
from jaxrobust.defenses.mart import MART
from jaxrobust.defenses.pgd_at import PGDAT
from jaxrobust.defenses.registry import DEFENSES
from jaxrobust.defenses.standard import Standard
from jaxrobust.defenses.trades import TRADES
