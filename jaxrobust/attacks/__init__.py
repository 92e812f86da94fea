"""Attacks: pure functions `attack(logits_fn, x, y, *, key) -> x_adv` on one shared core."""

# The shared core's public part, for defenses and evaluation (DESIGN.md: not `_core`).
from jaxrobust.attacks._core import NORMS, LogitsFn, ascent_direction, input_gradient
from jaxrobust.attacks._core import norm as perturbation_norm
from jaxrobust.attacks._core import random_start, to_ball_and_box
from jaxrobust.attacks.apgd import APGD, APGDT
from jaxrobust.attacks.autoattack import AutoAttack
from jaxrobust.attacks.bim import BIM
from jaxrobust.attacks.cw import CW
from jaxrobust.attacks.deepfool import DeepFool
from jaxrobust.attacks.difgsm import DIFGSM
from jaxrobust.attacks.ead import EAD
from jaxrobust.attacks.eot import EOTPGD, eot_gradient
from jaxrobust.attacks.fab import FAB, FABT
from jaxrobust.attacks.fgsm import FFGSM, FGSM, RFGSM
from jaxrobust.attacks.fmn import FMN, minimal_radii
from jaxrobust.attacks.fourier import SingleFourier, fourier_basis
from jaxrobust.attacks.jitter import Jitter, jitter_loss
from jaxrobust.attacks.mifgsm import MIFGSM
from jaxrobust.attacks.nifgsm import NIFGSM, SINIFGSM
from jaxrobust.attacks.noise_injected import NoiseInjected
from jaxrobust.attacks.onepixel import OnePixel
from jaxrobust.attacks.pgd import PGD
from jaxrobust.attacks.pifgsm import PIFGSM
from jaxrobust.attacks.pixle import Pixle
from jaxrobust.attacks.restarts import Restarts
from jaxrobust.attacks.sparsefool import SparseFool
from jaxrobust.attacks.spsa import SPSA
from jaxrobust.attacks.square import Square
from jaxrobust.attacks.sweep import (Sweep, minimal_norm_curve, robust_accuracy_curve,
                                    stack_eps, sweep)
from jaxrobust.attacks.targets import least_likely_targets, random_targets
from jaxrobust.attacks.tifgsm import TIFGSM
from jaxrobust.attacks.tpgd import TPGD
from jaxrobust.attacks.upgd import UPGD
from jaxrobust.attacks.vmifgsm import VMIFGSM, VNIFGSM
# Last: the registry refers to the classes above through this package.
from jaxrobust.attacks.registry import ATTACKS
