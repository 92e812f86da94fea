"""The one `Registry`: names, AutoAttack's aliases, and snake_case keys in every family."""

import re

import pytest

from jaxrobust import adaptation, anomaly, attacks, defenses, generative, measures, models
from jaxrobust.attacks.registry import ATTACKS
from jaxrobust.registry import Registry
from jaxrobust.selfsup.pretext import registry as pretext

# Every family's registry (the zoo's keys are RobustBench's names: not snake_case).
FAMILIES = {
    "attacks": ATTACKS, "defenses": defenses.registry.DEFENSES, "models": models.MODELS,
    "measures": measures.registry.MEASURES, "anomaly": anomaly.registry.DETECTORS,
    "generative": generative.registry.IMPUTERS, "selfsup": pretext.PRETEXT_TASKS,
    "adaptation": adaptation.registry.ADAPTATION_METHODS,
}


@pytest.mark.parametrize("family", FAMILIES)
def test_keys_are_snake_case(family):
  bad = [n for n in FAMILIES[family].names() if not re.fullmatch(r"[a-z][a-z0-9_]*", n)]
  assert not bad, f"{family}: keys not snake_case: {bad}"


def test_autoattack_names_are_aliases():
  assert ATTACKS.canonical("apgd-ce") == "apgd_ce" and "apgd-ce" in ATTACKS
  assert "apgd-ce" not in ATTACKS.names()
  assert ATTACKS.make("apgd-dlr", eps=0.1).loss == "dlr"
  assert ATTACKS.make("autoattack-plus", eps=0.1).version == "plus"
  assert isinstance(ATTACKS.make("fab-t", eps=0.1), attacks.FABT)


def test_unknown_name_lists_names_and_aliases():
  with pytest.raises(ValueError, match=r"Unknown attack 'apgd'; valid choices: .*'apgd_ce'.*"
                                       r"aliases .*'apgd-ce'"):
    ATTACKS.make("apgd", eps=0.1)


def test_a_name_or_alias_registers_once():
  registry = Registry("thing")
  def build(size=1):
    return size

  registry.register("a_b", build, aliases=("a-b",))
  for name, aliases in (("a_b", ()), ("a-b", ()), ("c", ("a-b",))):
    with pytest.raises(ValueError, match="registered twice"):
      registry.register(name, build, aliases=aliases)
