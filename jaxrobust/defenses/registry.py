"""Training objectives by name (one line per new defense)."""

from __future__ import annotations

import dataclasses
from typing import Any

from jaxrobust.defenses.pgd_at import PGDAT
from jaxrobust.defenses.standard import Standard

DEFENSES = {
    "standard": Standard,
    "pgd_at": PGDAT,
}


def create(name: str, **options: Any):
  """Builds a defense by name from its options (e.g. eps, steps for pgd_at)."""
  if name not in DEFENSES:
    raise ValueError(f"Unknown defense {name!r}; valid choices: {tuple(DEFENSES)}.")
  cls = DEFENSES[name]
  allowed = tuple(f.name for f in dataclasses.fields(cls))
  unknown = set(options) - set(allowed)
  if unknown:
    raise ValueError(f"Unknown option(s) {sorted(unknown)} for defense {name!r}; "
                     f"valid options: {allowed}.")
  defense = cls(**options)
  if hasattr(defense, "attack"):
    defense.attack.validate()  # bad eps/step size fail now, not at the first step
  return defense
