"""Attack suites by name, for evaluation configs (`--config.attacks=pgd20,autoattack`).

Single attacks run on every point; ensembles ("autoattack", "autoattack-plus",
"autoattack-rand") run AutoAttack's protocol on the points still robust.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Sequence

from jaxrobust import attacks as jr_attacks
from jaxrobust.attacks import _core

ENSEMBLES = {"autoattack": "standard", "autoattack-plus": "plus",
             "autoattack-rand": "rand"}
BLACKBOX = ("square", "fourier")  # gradient-free: the masking diagnostic's reference
NAMES = ("fgsm", "pgd<steps>", "apgd-ce", "apgd-dlr", "apgd-t", "fab", "fab-t",
         "square", "fourier", *ENSEMBLES)


@dataclasses.dataclass
class Suite:
  """attacks: name -> attack (run on every point); ensembles: name -> ordered
  components; blackbox: names of gradient-free attacks/components."""
  attacks: dict[str, Any]
  ensembles: dict[str, dict[str, Any]]
  blackbox: tuple[str, ...] = BLACKBOX


def _single(name: str, eps: float, norm: str, steps: int, n_queries: int):
  """One attack at the reference budgets (AutoAttack's for its components)."""
  if name == "fgsm":
    if norm != "linf":
      raise ValueError(f"fgsm is an Linf attack; the suite's norm is {norm!r}.")
    return jr_attacks.FGSM(eps=eps)
  if match := re.fullmatch(r"pgd(\d+)", name):
    n = int(match.group(1))
    return jr_attacks.PGD(eps=eps, step_size=2.5 * eps / n, steps=n, norm=norm)
  components = jr_attacks.AutoAttack(eps=eps, norm=norm, version="plus", steps=steps,
                                     n_queries=n_queries).components()
  if name in components:
    return components[name]
  if name == "fourier":
    return jr_attacks.SingleFourier(eps=eps, norm=norm)
  raise ValueError(f"Unknown attack {name!r}; valid names: {NAMES} "
                   "(pgd<steps> e.g. pgd20).")


def build_suite(names: Sequence[str], *, eps: float, norm: str = "linf",
                steps: int = 100, n_queries: int = 5000) -> Suite:
  """The attacks named in `names` at radius eps in `norm`.

  steps / n_queries: iterations of APGD/FAB and Square's queries (the
  AutoAttack reference: 100 and 5,000).
  """
  _core.check_choice("norm", norm, _core.NORMS)
  if not names:
    raise ValueError(f"the suite names no attack; valid names: {NAMES}.")
  if len(set(names)) != len(names):
    raise ValueError(f"attack names repeat: {list(names)}.")
  suite = Suite({}, {}, BLACKBOX)
  for name in names:
    if name in ENSEMBLES:
      ensemble = jr_attacks.AutoAttack(eps=eps, norm=norm, version=ENSEMBLES[name],
                                       steps=steps, n_queries=n_queries)
      suite.ensembles[name] = ensemble.validate().components()
    else:
      suite.attacks[name] = _single(name, eps, norm, steps, n_queries)
      if hasattr(suite.attacks[name], "validate"):
        suite.attacks[name].validate()
  return suite
