"""Conformance cases of Auto-PGD (APGD) and its targeted DLR version (APGD-T),
in Linf, L2 and L1 (l1-APGD, with and without the larger radii first), and
with EOT on a randomized model (the suite passes `lambda x, key: logits_fn(x)`).

The two L1 variants (the larger radii first, APGD-T in L1), APGD-T in Linf and
EOT-APGD are slow-tier cases (CI time): apgd_ce_linf and apgd_ce_l1 cover the Linf and
L1 machinery in the default tier, apgd_dlr_l2 the L2 and DLR, and tests/attacks/test_apgd.py
tests the largereps schedule and a largereps run, APGD-T's targets and EOT directly.

Both take `y` as the true label (APGD-T picks its targets itself), so neither
has a `targeted=True` mode. Budgets are small; min_drop set from measurements.
"""

from jaxrobust.attacks.apgd import APGD, APGDT
from tests.attacks.cases import EPS, Case

# L1 at eps 15 leaves 1.2% robust with APGD (10 steps), 6.2% with the larger
# radii first (5 steps: 2, 2, 1), 2.0% with APGD-T (10 steps, 1 target); clean
# 96.4% (measured).
MIN_DROP_L1 = 0.8
_BAD = (("rho", 1.5), ("momentum", -0.1), ("n_restarts", 0))

CASES = {
    "apgd_ce_linf": Case(APGD(eps=EPS["linf"], steps=10), targeted=False, bad_fields=_BAD),
    "apgd_dlr_l2": Case(APGD(eps=EPS["l2"], steps=10, norm="l2", loss="dlr"), "l2",
                        targeted=False, bad_fields=_BAD),
    "apgdt_linf": Case(APGDT(eps=EPS["linf"], steps=10, n_target_classes=3), targeted=False,
                       bad_fields=_BAD + (("n_target_classes", 0),), slow=True),
    "apgd_ce_l1": Case(APGD(eps=EPS["l1"], steps=10, norm="l1"), "l1", targeted=False,
                       bad_fields=_BAD + (("eot_iter", 0),), min_drop=MIN_DROP_L1),
    "apgd_ce_l1_largereps": Case(APGD(eps=EPS["l1"], steps=5, norm="l1", use_largereps=True),
                                 "l1", targeted=False, min_drop=MIN_DROP_L1,
                                 bad_fields=(("use_largereps", "yes"),), slow=True),
    "apgdt_l1": Case(APGDT(eps=EPS["l1"], steps=10, norm="l1", n_target_classes=1), "l1",
                     targeted=False, min_drop=MIN_DROP_L1, slow=True),
    "apgd_ce_linf_eot": Case(APGD(eps=EPS["linf"], steps=10, eot_iter=2), targeted=False,
                             randomized_model=True, bad_fields=(("eot_iter", 0),), slow=True),
}
