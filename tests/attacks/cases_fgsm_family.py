"""Conformance cases of the single-step attacks and the PGD variants.

Accuracy drops and target rates in the comments were measured on the suite's
trained model (clean accuracy 0.902 on its 500 test images), key 0.
"""

from jaxrobust.attacks.bim import BIM
from jaxrobust.attacks.eot import EOTPGD
from jaxrobust.attacks.fgsm import FFGSM, FGSM, RFGSM
from jaxrobust.attacks.jitter import Jitter
from jaxrobust.attacks.tpgd import TPGD
from jaxrobust.attacks.upgd import UPGD
from tests.attacks.cases import EPS, Case

LINF = EPS["linf"]

CASES = {
    # Single step: drop 0.33. Targets reached: 41% at 2 EPS, 70% at 3 EPS.
    "fgsm_linf": Case(FGSM(eps=LINF), target_eps_scale=3.0, min_drop=0.2),
    # Drop 0.30. Targeted: 26% at 2 EPS, 39% at 3 EPS (the uniform start fills a
    # ball as wide as the step), so the targeted test is left to the multi-step cases.
    "ffgsm": Case(FFGSM(eps=LINF, step_size=1.25 * LINF), targeted=False, min_drop=0.2),
    # The paper's R+FGSM (one step of eps - alpha, alpha = eps / 2): drop 0.18.
    # Targeted: the suite scales eps only, and this step stays 0.05 (4%).
    "rfgsm": Case(RFGSM(eps=LINF, step_size=LINF / 2, alpha=LINF / 2), targeted=False,
                  min_drop=0.1, bad_fields=(("alpha", -0.1),)),
    # Drop 0.42; targets 65% at 2 EPS.
    "bim": Case(BIM(eps=LINF, step_size=0.025, steps=10)),
    # KL to the clean prediction, no labels: drop 0.25.
    "tpgd": Case(TPGD(eps=LINF, step_size=0.025, steps=10), targeted=False, min_drop=0.15),
    # Momentum (MI-FGSM's decay 1): drop 0.42; targets 62% at 2 EPS.
    "upgd_linf": Case(UPGD(eps=LINF, step_size=0.025, steps=10, decay=1.0),
                      bad_fields=(("decay", -1.0),)),
    # Drop 0.52; targets 68% at 2 EPS.
    "upgd_l2": Case(UPGD(eps=EPS["l2"], step_size=0.4, steps=10, norm="l2", decay=0.5,
                         random_start=True), "l2"),
    # Drop 0.41. Targeted DLR here descends the untargeted DLR at the target
    # label, which can also fall by widening z_pi1 - z_pi3: 13% of targets at
    # 2 EPS (cw: 62%), so no targeted test.
    "upgd_dlr": Case(UPGD(eps=LINF, step_size=0.025, steps=10, loss="dlr"), targeted=False),
    # On the deterministic model: drop 0.43; targets 64% at 2 EPS.
    "eotpgd": Case(EOTPGD(eps=LINF, step_size=0.025, steps=10, eot_iter=2),
                   randomized_model=True),
    # L2 (the threat model of randomized smoothing): the slow tier, the Linf case covers the rest.
    "eotpgd_l2": Case(EOTPGD(eps=EPS["l2"], step_size=0.4, steps=10, eot_iter=2, norm="l2"),
                      "l2", randomized_model=True, slow=True),
    # Drop 0.35. Targeted: 22% at 2 EPS; the softmax of scale 10 saturates, so
    # far targets get vanishing gradients (55% at scale 1).
    "jitter": Case(Jitter(eps=LINF, step_size=0.025, steps=10), targeted=False, min_drop=0.25,
                   bad_fields=(("scale", -1.0), ("std", -0.1))),
}
