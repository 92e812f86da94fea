"""Conformance cases of the black-box and sparse attacks: SPSA, OnePixel, Pixle, SparseFool.

Budgets are tiny (black-box searches cost many forward passes); min_drop is set
from what each budget measures on the suite's model (96.4% clean on 500 points,
robust accuracy with key 0): SPSA 5 steps x 8 pairs 91.4%, OnePixel 5 pixels
(5 generations of 20) 92.8%, Pixle 5 rounds x 10 36.8%, SparseFool 3 steps 16.0%.
SPSA and OnePixel are weak at these budgets (on MNIST, as black-box searches of
40 and 100 forward passes per image), so their min_drop only checks that they
work, not their strength.
The black-box searches reach few chosen targets at such budgets on MNIST
(measured on 100 points: SPSA 1%, Pixle 17%, OnePixel 0%), so their targeted
mode is tested in tests/attacks/test_sparse.py and test_spsa.py on models where
the target is reachable. OnePixel, Pixle and SparseFool have no radius (norm=None).
"""

from jaxrobust.attacks.onepixel import OnePixel
from jaxrobust.attacks.pixle import Pixle
from jaxrobust.attacks.sparsefool import SparseFool
from jaxrobust.attacks.spsa import SPSA
from tests.attacks.cases import EPS, Case

CASES = {
    # lr = eps: Adam's first step is lr * sign(estimate), a noisy FGSM.
    "spsa": Case(SPSA(eps=EPS["linf"], learning_rate=0.1, steps=5, nb_sample=8, sample_batch=8),
                 targeted=False, min_drop=0.02,
                 bad_fields=(("delta", 0.0), ("delta", -0.01), ("learning_rate", -0.1),
                             ("nb_sample", 0))),
    "onepixel": Case(OnePixel(pixels=5, steps=5, popsize=20), norm=None, targeted=False,
                     min_drop=0.02, bad_fields=(("mutation", -0.5), ("pixels", 0),
                                                ("popsize", 3))),
    "pixle": Case(Pixle(restarts=5, max_iterations=10), norm=None, targeted=False,
                  min_drop=0.3, bad_fields=(("pixel_mapping", "nearest"),
                                            ("x_dimensions", (0, 3)), ("restarts", 0))),
    # lam = 1: the boundary point's error (jit vs eager rounding of DeepFool) is
    # multiplied by lam and divided by the normal's component at the coordinate
    # that lands on the plane; at lam = 3 that reached 1.4e-5, above the suite's
    # 1e-5 jit tolerance (2 of 25,088 coordinates).
    "sparsefool": Case(SparseFool(steps=3, lam=1.0, deepfool_steps=5, num_classes=3), norm=None,
                       targeted=False, bad_fields=(("lam", 0.5), ("overshoot", -0.1),
                                                   ("deepfool_steps", 0))),
}
