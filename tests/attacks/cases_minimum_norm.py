"""Conformance cases of the minimum-norm attacks (no radius: norm=None)."""

from jaxrobust.attacks.cw import CW
from jaxrobust.attacks.deepfool import DeepFool
from jaxrobust.attacks.ead import EAD
from jaxrobust.attacks.fmn import FMN
from tests.attacks.cases import Case

_BAD = (("c", -1.0), ("kappa", -0.5), ("learning_rate", 0.0), ("learning_rate", -0.1))

_FMN_BAD = (("gamma_init", -0.1), ("gamma_final", 1.5), ("alpha_init", -1.0),
            ("alpha_final", -0.5), ("norm", "l3"), ("steps", 0))

CASES = {
    # lr 0.2 rather than the default 0.01: 30 Adam steps in tanh space must move
    # the MNIST pixels sitting at 0 (w = -7.25) enough to break ~all examples.
    "cw_l2": Case(CW(c=10.0, steps=30, learning_rate=0.2), norm=None, bad_fields=_BAD),
    "ead": Case(EAD(c=1.0, steps=10, binary_search_steps=2), norm=None,
                bad_fields=_BAD + (("beta", -1e-3), ("decision_rule", "L2"))),
    # torchattacks' order (overshoot and clip at every step) creeps towards the
    # boundary when clipping eats part of each step, as it does on MNIST's black
    # background: a larger overshoot crosses within 10 steps (0.02 needs ~50).
    "deepfool": Case(DeepFool(steps=10, overshoot=0.3, num_classes=3), norm=None,
                     targeted=False, bad_fields=(("overshoot", -0.1), ("num_classes", 1))),
    # FMN at a small budget (the default is 100 steps); L2 and L0 cover both radius updates.
    "fmn_l2": Case(FMN(norm="l2", steps=20), norm=None, bad_fields=_FMN_BAD),
    # L0's radius grows by one pixel a step from 1: 20 steps reach ~22% of the
    # targets (measured), so the targeted check runs on the L2 case only.
    # (slow tier: test_fmn.py covers L0 in the default tier.)
    "fmn_l0": Case(FMN(norm="l0", steps=20), norm=None, targeted=False, bad_fields=_FMN_BAD,
                   slow=True),
}
