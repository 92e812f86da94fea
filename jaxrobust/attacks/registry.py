"""Attacks by name: one line per attack (its options are its class's fields).

`ATTACKS.make("pgd", eps=0.1, steps=20)`; a config section {"name": "pgd",
"eps": 0.1, "steps": 20} goes through `ATTACKS.from_config`. Names with a preset
fix some fields: "apgd_dlr" is APGD with loss="dlr". Names are snake_case; AutoAttack's
own hyphenated names ("apgd-ce", "apgd-dlr", "apgd-t", "fab-t", "autoattack-plus",
"autoattack-rand"; also its components' names in reports) are aliases. "pgd" takes Madry et al.'s
step 2.5 * eps / steps unless step_size is given. Ensembles ("autoattack*")
are attacks too; evaluation runs their components on the points still robust.
The conformance suite (tests/attacks/test_conformance.py) covers every name.
"""

from jaxrobust import attacks as a
from jaxrobust.attacks.pgd import madry_pgd
from jaxrobust.registry import Registry

ATTACKS = Registry("attack")
ATTACKS.register("fgsm", a.FGSM)
ATTACKS.register("ffgsm", a.FFGSM)
ATTACKS.register("rfgsm", a.RFGSM)
ATTACKS.register("pgd", madry_pgd)
ATTACKS.register("bim", a.BIM)
ATTACKS.register("tpgd", a.TPGD)
ATTACKS.register("upgd", a.UPGD)
ATTACKS.register("eotpgd", a.EOTPGD)
ATTACKS.register("jitter", a.Jitter)
ATTACKS.register("mifgsm", a.MIFGSM)
ATTACKS.register("difgsm", a.DIFGSM)
ATTACKS.register("tifgsm", a.TIFGSM)
ATTACKS.register("nifgsm", a.NIFGSM)
ATTACKS.register("sinifgsm", a.SINIFGSM)
ATTACKS.register("vmifgsm", a.VMIFGSM)
ATTACKS.register("vnifgsm", a.VNIFGSM)
ATTACKS.register("pifgsm", a.PIFGSM)
ATTACKS.register("noise_injected", a.NoiseInjected)
ATTACKS.register("cw", a.CW)
ATTACKS.register("ead", a.EAD)
ATTACKS.register("deepfool", a.DeepFool)
ATTACKS.register("sparsefool", a.SparseFool)
ATTACKS.register("onepixel", a.OnePixel)
ATTACKS.register("pixle", a.Pixle)
ATTACKS.register("spsa", a.SPSA)
ATTACKS.register("square", a.Square)
ATTACKS.register("fourier", a.SingleFourier)
ATTACKS.register("apgd_ce", a.APGD, loss="ce", aliases=("apgd-ce",))
ATTACKS.register("apgd_dlr", a.APGD, loss="dlr", aliases=("apgd-dlr",))
ATTACKS.register("apgd_t", a.APGDT, aliases=("apgd-t",))
ATTACKS.register("fab", a.FAB)
ATTACKS.register("fab_t", a.FABT, aliases=("fab-t",))
ATTACKS.register("autoattack", a.AutoAttack, version="standard")
ATTACKS.register("autoattack_plus", a.AutoAttack, version="plus", aliases=("autoattack-plus",))
ATTACKS.register("autoattack_rand", a.AutoAttack, version="rand", aliases=("autoattack-rand",))
ATTACKS.register("fmn", a.FMN)
