"""Attacks: pure functions `attack(logits_fn, x, y, *, key) -> x_adv` on one shared core."""

from jaxrobust.attacks._core import norm as perturbation_norm
from jaxrobust.attacks.pgd import PGD
