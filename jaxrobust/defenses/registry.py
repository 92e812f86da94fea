"""Training objectives by name (one line per new defense).

A config section is {"name": ..., the defense's own fields, "attack": an attack
section} (e.g. {"name": "trades", "beta": 6.0, "attack": {"name": "tpgd",
"eps": 0.1, "step_size": 0.025, "steps": 10}}); AWP's "base" is a defense
section. An option the chosen defense does not have is an error naming its
options.
"""

from __future__ import annotations

from typing import Any, Mapping

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


def make(name: str, **options: Any):
  """Builds a defense by name from its options, e.g.
  make("pgd_at", attack=ATTACKS.make("pgd", eps=0.1, steps=10))."""
  return DEFENSES.make(name, **options)


def from_config(section: Mapping[str, Any]):
  """Builds section["name"] from the section's other fields: a nested "attack"
  section goes through `ATTACKS.from_config`, AWP's "base" through this function
  (a None attack stays None: logit squeezing without adversarial training)."""
  options = section.to_dict() if hasattr(section, "to_dict") else dict(section)
  if hasattr(options.get("attack"), "keys"):
    options["attack"] = ATTACKS.from_config(options["attack"])
  if hasattr(options.get("base"), "keys"):
    options["base"] = from_config(options["base"])
  return DEFENSES.from_config(options)
