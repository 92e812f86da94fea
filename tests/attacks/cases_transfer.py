"""Conformance cases of the transfer attacks (MI, DI, TI, NI, SI-NI, VMI, VNI, PI,
noise-injected), at modest sample counts so the suite stays fast."""

from jaxrobust.attacks.difgsm import DIFGSM
from jaxrobust.attacks.mifgsm import MIFGSM
from jaxrobust.attacks.nifgsm import NIFGSM, SINIFGSM
from jaxrobust.attacks.noise_injected import NoiseInjected
from jaxrobust.attacks.pifgsm import PIFGSM
from jaxrobust.attacks.tifgsm import TIFGSM
from jaxrobust.attacks.vmifgsm import VMIFGSM, VNIFGSM
from tests.attacks.cases import EPS, Case

_STEP = {"eps": EPS["linf"], "step_size": 0.025, "steps": 10}
_DECAY = (("decay", -0.5),)
_PROB = (("diversity_prob", 1.5), ("diversity_prob", -0.1))

# Accuracy drops measured on the suite's model (96.4% clean, 500 points, eps 0.1):
# DI 0.28, TI 0.29, NI 0.29, SI-NI 0.28 -- transfer-oriented attacks give up
# some white-box strength for transferability, hence min_drop=0.2 for them.
_TRANSFER_DROP = 0.2

CASES = {
    "mifgsm": Case(MIFGSM(**_STEP), bad_fields=_DECAY),
    "difgsm": Case(DIFGSM(**_STEP, decay=1.0), min_drop=_TRANSFER_DROP,
                   bad_fields=_DECAY + _PROB),
    # TI and NI reach 50% and 46% of targets at 2 * EPS on the suite's model.
    "tifgsm": Case(TIFGSM(**_STEP, len_kernel=5), min_drop=_TRANSFER_DROP,
                   target_eps_scale=3.0, bad_fields=_DECAY + _PROB),
    "nifgsm": Case(NIFGSM(**_STEP), min_drop=_TRANSFER_DROP, target_eps_scale=3.0,
                   bad_fields=_DECAY),
    # The scaled copies x / 2^i pull the gradient away from the target's loss at x
    # itself: at 2 * EPS SI-NI reaches 43% of the targets (PGD ~70%).
    "sinifgsm": Case(SINIFGSM(**_STEP, m=2), min_drop=_TRANSFER_DROP, target_eps_scale=3.0,
                     bad_fields=_DECAY),
    "vmifgsm": Case(VMIFGSM(**_STEP, n=2), bad_fields=_DECAY + (("beta", -1.0),)),
    "vnifgsm": Case(VNIFGSM(**_STEP, n=2), bad_fields=(("beta", -1.0),)),
    "pifgsm": Case(PIFGSM(eps=EPS["linf"], steps=10),
                   bad_fields=(("amplification", -1.0),) + _PROB),
    "noise_injected": Case(NoiseInjected(**_STEP, noise_std=0.05),
                           bad_fields=(("noise_std", -0.1),)),
}
