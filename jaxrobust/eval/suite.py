"""Attack suites by name, for evaluation configs (`--config.attacks=pgd20,autoattack`).

Names are those of the attack registry (`jaxrobust.attacks.registry.ATTACKS`),
optionally followed by a number of steps: "pgd20" is `ATTACKS.make("pgd",
steps=20)` (Madry's step 2.5 * eps / 20), "mifgsm5" MI-FGSM with 5 steps. Every
attack gets the suite's radius eps and, where it has one, its norm (an Linf-only
attack in an L2 suite is an error); the reference-budget attacks (APGD, FAB,
Square, AutoAttack) take the suite's `steps` and `n_queries` unless the name
fixes the steps. Ensembles ("autoattack", "autoattack-plus", "autoattack-rand")
run AutoAttack's protocol on the points still robust; single attacks run on
every point.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Sequence

from jaxrobust import _checks
from jaxrobust.attacks import NORMS
from jaxrobust.attacks.autoattack import AutoAttack
from jaxrobust.attacks.registry import ATTACKS

BLACKBOX = ("square", "fourier")  # gradient-free: the masking diagnostic's reference
# Their budgets default to the suite's (AutoAttack's reference: 100 steps, 5,000 queries).
REFERENCE_BUDGET = ("apgd_ce", "apgd_dlr", "apgd_t", "fab", "fab_t", "square",
                    "autoattack", "autoattack_plus", "autoattack_rand")


@dataclasses.dataclass
class Suite:
  """attacks: name -> attack (run on every point); ensembles: name -> ordered
  components; blackbox: names of gradient-free attacks/components."""
  attacks: dict[str, Any]
  ensembles: dict[str, dict[str, Any]]
  blackbox: tuple[str, ...] = BLACKBOX


def _valid_names() -> str:
  with_radius = [n for n in ATTACKS if "eps" in ATTACKS.options(n)]
  return f"{tuple(with_radius)}, each optionally followed by its steps (e.g. pgd20)"


def parse(name: str) -> tuple[str, dict[str, int]]:
  """"pgd20" -> ("pgd", {"steps": 20}); a registry name -> (name, {})."""
  if name in ATTACKS:
    return name, {}
  match = re.fullmatch(r"(.*?)(\d+)", name)
  if match and match.group(1) in ATTACKS and "steps" in ATTACKS.options(match.group(1)):
    return match.group(1), {"steps": int(match.group(2))}
  raise ValueError(f"Unknown attack {name!r}; valid names: {_valid_names()}.")


def make_attack(name: str, *, eps: float, norm: str = "linf", steps: int = 100,
                n_queries: int = 5000):
  """The attack `name` (see the module docstring) at radius eps in `norm`."""
  base, options = parse(name)
  base = ATTACKS.canonical(base)  # AutoAttack's hyphenated aliases
  accepts = ATTACKS.options(base)
  if "eps" not in accepts:
    raise ValueError(f"{base!r} is a minimum-norm attack without a radius; a suite "
                     f"measures accuracy within eps. Valid names: {_valid_names()}.")
  options["eps"] = eps
  if "norm" in accepts:
    options["norm"] = norm
  elif norm != "linf":
    with_norm = [n for n in ATTACKS if {"eps", "norm"} <= set(ATTACKS.options(n))]
    raise ValueError(f"{base!r} is an Linf attack; the suite's norm is {norm!r}. "
                     f"Attacks with a norm: {tuple(with_norm)}.")
  if base in REFERENCE_BUDGET:
    if "steps" in accepts:
      options.setdefault("steps", steps)
    if "n_queries" in accepts:
      options["n_queries"] = n_queries
  return ATTACKS.make(base, **options).validate()


def build_suite(names: Sequence[str], *, eps: float, norm: str = "linf",
                steps: int = 100, n_queries: int = 5000) -> Suite:
  """The attacks named in `names` at radius eps in `norm`.

  steps / n_queries: iterations of APGD/FAB and Square's queries (the
  AutoAttack reference: 100 and 5,000).

  Not a registry verb: it builds a `Suite` (attacks in AutoAttack's order with the
  shared eps/norm/steps of an evaluation), each member through `ATTACKS.make`.
  """
  _checks.check_choice("norm", norm, NORMS)
  if not names:
    raise ValueError(f"the suite names no attack; valid names: {_valid_names()}.")
  if len(set(names)) != len(names):
    raise ValueError(f"attack names repeat: {list(names)}.")
  suite = Suite({}, {}, BLACKBOX)
  for name in names:
    attack = make_attack(name, eps=eps, norm=norm, steps=steps, n_queries=n_queries)
    if isinstance(attack, AutoAttack):
      suite.ensembles[name] = attack.components()
    else:
      suite.attacks[name] = attack
  return suite
