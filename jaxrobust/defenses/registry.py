"""Training objectives by name (one line per new defense)."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from jaxrobust.defenses.awp import AWP
from jaxrobust.defenses.bat import BAT
from jaxrobust.defenses.fast_at import FastAT
from jaxrobust.defenses.gradalign import GradAlign
from jaxrobust.defenses.logit_squeeze import LogitSqueeze
from jaxrobust.defenses.mart import MART
from jaxrobust.defenses.pgd_at import PGDAT
from jaxrobust.defenses.standard import Standard
from jaxrobust.defenses.trades import TRADES

DEFENSES = {
    "standard": Standard,
    "pgd_at": PGDAT,
    "trades": TRADES,
    "mart": MART,
    "bat": BAT,
    "fast_at": FastAT,
    "gradalign": GradAlign,
    "awp": AWP,
    "logit_squeeze": LogitSqueeze,
}


def _fields(cls) -> tuple[str, ...]:
  return tuple(f.name for f in dataclasses.fields(cls))


def create(name: str, **options: Any):
  """Builds a defense by name from its options (e.g. eps, steps for pgd_at)."""
  if name not in DEFENSES:
    raise ValueError(f"Unknown defense {name!r}; valid choices: {tuple(DEFENSES)}.")
  allowed = _fields(DEFENSES[name])
  unknown = set(options) - set(allowed)
  if unknown:
    raise ValueError(f"Unknown option(s) {sorted(unknown)} for defense {name!r}; "
                     f"valid options: {allowed}.")
  defense = DEFENSES[name](**options)
  if hasattr(defense, "attack"):
    defense.attack.validate()  # bad eps/step size fail now, not at the first step
  return defense


def from_config(config: Mapping[str, Any]):
  """Builds `config["name"]` from the config's other fields.

  One config section serves every defense, so `--config.defense.name=standard`
  works on a config written for pgd_at: fields that the chosen defense lacks
  but another defense has are ignored; a field no defense has is an error.
  """
  options = {k: v for k, v in dict(config).items() if k != "name"}
  name = config.get("name")
  if name not in DEFENSES:
    raise ValueError(f"Unknown defense {name!r}; valid choices: {tuple(DEFENSES)}.")
  known = {f for cls in DEFENSES.values() for f in _fields(cls)}
  unknown = set(options) - known
  if unknown:
    raise ValueError(f"Unknown defense option(s) {sorted(unknown)}; options of "
                     f"{name!r}: {_fields(DEFENSES[name])}.")
  used = {k: v for k, v in options.items() if k in _fields(DEFENSES[name])}
  return create(name, **used)
