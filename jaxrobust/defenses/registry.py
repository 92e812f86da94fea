"""Training objectives by name (one line per new defense).

A config section is {"name": ..., the defense's own fields, "attack": an attack
section} (e.g. {"name": "trades", "beta": 6.0, "attack": {"name": "tpgd",
"eps": 0.1, "step_size": 0.025, "steps": 10}}); AWP's "base" is a defense
section. `DEFENSES.from_config` builds both nested sections first (the registry's
`nest` hook, declared below). An option the chosen defense does not have is an error naming its
options.
"""

from __future__ import annotations

from jaxrobust.attacks.registry import ATTACKS
from jaxrobust.defenses.awp import AWP
from jaxrobust.defenses.bat import BAT
from jaxrobust.defenses.crown_ibp import CROWNIBP
from jaxrobust.defenses.fast_at import FastAT
from jaxrobust.defenses.gaussian_augmentation import GaussianAugmentation
from jaxrobust.defenses.gradalign import GradAlign
from jaxrobust.defenses.graddiv import GradDiv
from jaxrobust.defenses.ibp import IBP
from jaxrobust.defenses.logit_squeeze import LogitSqueeze
from jaxrobust.defenses.mart import MART
from jaxrobust.defenses.pgd_at import PGDAT
from jaxrobust.defenses.standard import Standard
from jaxrobust.defenses.trades import TRADES
from jaxrobust.registry import Registry

DEFENSES = Registry("defense")
DEFENSES.register("standard", Standard)
DEFENSES.register("pgd_at", PGDAT)
DEFENSES.register("trades", TRADES)
DEFENSES.register("mart", MART)
DEFENSES.register("bat", BAT)
DEFENSES.register("fast_at", FastAT)
DEFENSES.register("gradalign", GradAlign)
DEFENSES.register("awp", AWP)
DEFENSES.register("logit_squeeze", LogitSqueeze)
DEFENSES.register("graddiv", GradDiv)
DEFENSES.register("ibp", IBP)
DEFENSES.register("crown_ibp", CROWNIBP)
DEFENSES.register("gaussian_augmentation", GaussianAugmentation)  # randomized smoothing

# A nested "attack" section is built by ATTACKS, AWP's "base" by DEFENSES (a None attack
# stays None: logit squeezing without adversarial training).
DEFENSES.nest("attack", ATTACKS)
DEFENSES.nest("base", DEFENSES)
