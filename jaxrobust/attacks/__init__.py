"""Attacks: pure functions `attack(logits_fn, x, y, *, key) -> x_adv` on one shared core."""

from jaxrobust.attacks._core import norm as perturbation_norm
from jaxrobust.attacks.pgd import PGD
from jaxrobust.attacks.restarts import Restarts
from jaxrobust.attacks.sweep import robust_accuracy_curve, stack_eps, sweep
from jaxrobust.attacks.targets import least_likely_targets, random_targets
