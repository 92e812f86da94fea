"""The one `Registry`: names, AutoAttack's aliases, and snake_case keys in every family."""

import re

import pytest

from jaxrobust import adaptation, anomaly, attacks, certify, defenses, generative, measures, models
from jaxrobust.attacks.registry import ATTACKS
from jaxrobust.registry import Registry
from jaxrobust.selfsup.pretext import registry as pretext

# Every family's registry (the zoo's keys are RobustBench's names: not snake_case).
FAMILIES = {
    "attacks": ATTACKS, "defenses": defenses.registry.DEFENSES, "models": models.MODELS,
    "measures": measures.registry.MEASURES, "anomaly": anomaly.registry.DETECTORS,
    "generative": generative.registry.IMPUTERS, "selfsup": pretext.PRETEXT_TASKS,
    "adaptation": adaptation.registry.ADAPTATION_METHODS, "certify": certify.BOUND_METHODS,
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


# The verbs: every package exports its registry and no per-family copy of make/from_config.
VERBS = ("make", "from_config", "build", "build_tasks", "create", "make_imputer")


@pytest.mark.parametrize("package", [adaptation, anomaly, defenses, measures, generative,
                                     pretext, certify], ids=lambda p: p.__name__)
def test_no_family_verbs_beside_the_registry(package):
  assert not [v for v in VERBS if hasattr(package, v)], package.__name__


def test_make_all_builds_names_and_sections():
  built = pretext.PRETEXT_TASKS.make_all(["rotation", {"name": "solarize", "levels": (0.5, 1.0)}])
  assert list(built) == ["rotation", "solarize"] and built["solarize"].levels == (0.5, 1.0)
  opts = pretext.PRETEXT_TASKS.make_all(["rotation", "solarize"],
                                        {"solarize": {"levels": [0.2, 1]}})
  assert opts["solarize"].levels == (0.2, 1) and opts["rotation"] == built["rotation"]
  with pytest.raises(ValueError, match="spec must be a non-empty.*measure"):
    measures.MEASURES.make_all([])
  with pytest.raises(ValueError, match="Unknown measure 'sharp'"):
    measures.MEASURES.make_all(["norm", "sharp"])
  with pytest.raises(ValueError, match="once.*'norm', 'norm'"):
    measures.MEASURES.make_all(["norm", "norm"])
  with pytest.raises(ValueError, match="options given for measure 'margin'.*not in spec"):
    measures.MEASURES.make_all(["norm"], {"margin": {}})
  with pytest.raises(ValueError, match=r"\['levels'\].*both"):
    pretext.PRETEXT_TASKS.make_all([{"name": "solarize", "levels": (0.5, 1.0)}],
                                   {"solarize": {"levels": (0.2, 1.0)}})


def test_nest_builds_a_nested_section_first():
  pgd = {"name": "pgd", "eps": 0.1, "steps": 2}
  built = defenses.DEFENSES.from_config({"name": "awp", "base": {"name": "pgd_at", "attack": pgd}})
  assert built.base.attack == ATTACKS.from_config(pgd)
