"""Conformance cases of FAB and FAB-T (`y` is the true label for both: targeted=False)."""

from jaxrobust.attacks.fab import FAB, FABT
from tests.attacks.cases import EPS, Case

_BAD = (("n_restarts", 0), ("alpha_max", -0.1), ("alpha_max", 1.5), ("eta", -1.0), ("beta", -0.1), ("beta", 1.5))

CASES = {
    "fab_linf": Case(FAB(eps=EPS["linf"], steps=10), targeted=False, min_drop=0.3,
                     bad_fields=_BAD),
    "fab_l2": Case(FAB(eps=EPS["l2"], steps=10, norm="l2", n_restarts=2), "l2",
                   targeted=False, min_drop=0.3, bad_fields=_BAD),
    # Slow tier (CI time): the L1 projection and minimal distance are checked in
    # the default tier by test_fab.py against scipy and in closed form.
    "fab_l1": Case(FAB(eps=EPS["l1"], steps=10, norm="l1"), "l1", targeted=False,
                   min_drop=0.3, bad_fields=_BAD, slow=True),
    "fabt_linf": Case(FABT(eps=EPS["linf"], steps=10, n_target_classes=3), targeted=False,
                      min_drop=0.3, bad_fields=_BAD + (("n_target_classes", 10),)),
}
