"""Every registry entry, fuzzed from its own options: a new registry line is fuzzed by default.

For each entry of each registry: an unknown option is refused naming it; and each
option gets the bad values its name and default imply (`bad_values`): a negative
or NaN number, zero where the option counts something, a fraction for an
integer, a probability above one, a width of zero, an unknown choice. Each must
be refused, at `make` or (attacks) at the checks every call runs first
(`Attack.check_call`, no attack is run), by a ValueError / TypeError naming the
option. Entries of the method families that still accept one are `KNOWN_HOLES`
(xfail, strict: a fixed hole fails until its line is deleted).
"""

from __future__ import annotations

import dataclasses
import inspect
import math

import jax
import jax.numpy as jnp
import pytest

from jaxrobust.adaptation import ADAPTATION_METHODS
from jaxrobust.anomaly import DETECTORS
from jaxrobust.attacks import ATTACKS
from jaxrobust.attacks._base import Attack
from jaxrobust.defenses import DEFENSES
from jaxrobust.generative import IMPUTERS
from jaxrobust.measures import MEASURES
from jaxrobust.models import MODELS
from jaxrobust.selfsup import PRETEXT_TASKS

NAN = float("nan")
KEY = jax.random.key(0)

# package -> its registry.
REGISTRIES = {"attacks": ATTACKS, "defenses": DEFENSES, "models": MODELS, "measures": MEASURES,
              "anomaly": DETECTORS, "generative": IMPUTERS, "selfsup": PRETEXT_TASKS,
              "adaptation": ADAPTATION_METHODS}
# What the caller supplies itself (the registry's `exclude`).
SUPPLIED = {"models": {"num_classes": 3, "mean": (0.5,), "std": (0.25,)}}

# Integer options where 0 is valid (a count of optional things, an offset).
ZERO_OK = {"warmup_steps", "ramp_steps", "resize_pad", "randomized_dim", "decay"}
# Real options that must be > 0 (0 divides or stalls).
ZERO_BAD = {"learning_rate", "upper", "target_drop", "magnitude_eps", "step_fraction"}
# Real options that are probabilities / fractions in [0, 1].
PROBABILITY = {"diversity_prob", "p_init", "hint_rate", "dropout", "confidence", "target_drop",
               "alpha_max"}
PROBABILITY_OF = {"apgd": {"rho", "momentum"}, "fab": {"beta"}}
# Tuple options that are layer widths (each >= 1).
WIDTHS = {"hidden", "features", "channels", "depths", "strides"}
# Options whose default is None but whose value is a number: (kind, zero is bad).
NUMERIC_NONE = {"step_size": (float, False), "cap": (float, True), "num_classes": (int, True),
                "hidden": (int, True), "n_nearest_features": (int, True)}
# Derived bad values that are valid for one entry: case -> why.
VALID = {
    "measures.boundary_thickness:alpha_negative": "alpha, beta are levels of p_i - p_j in [-1, 1]",
    "measures.boundary_thickness:beta_negative": "alpha, beta are levels of p_i - p_j in [-1, 1]",
    "attacks.spsa:learning_rate_zero": "Adam at rate 0 keeps the (random) start: "
                                       "tests/attacks/test_spsa.py isolates the start so",
    "attacks.vmifgsm:n_zero": "no neighbours: plain MI-FGSM (documented)",
    "attacks.vnifgsm:n_zero": "no neighbours: plain NI-FGSM (documented)",
    "defenses.fast_at:co_checkpoints_zero": "turns the overfitting check off (documented)",
}

# Accepted bad values still known (case -> why): strict xfails, so a fixed hole fails until
# its line is deleted. Empty since the method families' boundaries were fixed.
KNOWN_HOLES: dict[str, str] = {}


def _defaults(build) -> dict:
  if dataclasses.is_dataclass(build):
    out = {}
    for f in dataclasses.fields(build):
      if f.default is not dataclasses.MISSING:
        out[f.name] = f.default
      elif f.default_factory is not dataclasses.MISSING:
        out[f.name] = f.default_factory()
    return out
  return {p.name: p.default for p in inspect.signature(build).parameters.values()
          if p.default is not p.empty}


def bad_values(entry: str, option: str, default) -> list[tuple[str, object]]:
  """(label, bad value) for one option, from its name and default."""
  if isinstance(default, bool):
    return []
  if isinstance(default, str):
    return [("unknown_choice", "no_such_choice")]
  if default is None and option in NUMERIC_NONE:
    kind, zero_bad = NUMERIC_NONE[option]
    default = (1 if kind is int else 1.0) if zero_bad else (1 if kind is int else 0.0)
  if isinstance(default, tuple) and option in WIDTHS and default and isinstance(default[0], int):
    return [("width_zero", (0,) + default[1:]), ("width_negative", (-4,) + default[1:])]
  out = []
  if isinstance(default, int):
    out.append(("fraction", 2.5))
    out.append(("negative", -1))
    if default >= 1 and option not in ZERO_OK:
      out.append(("zero", 0))
  elif isinstance(default, float):
    out.append(("nan", NAN))
    out.append(("negative", -1.0))
    if option in ZERO_BAD:
      out.append(("zero", 0.0))
    prob = PROBABILITY | next((v for k, v in PROBABILITY_OF.items() if entry.startswith(k)),
                              set())
    if option in prob:
      out.append(("above_one", 1.5))
  return out


def _cases():
  for package, registry in REGISTRIES.items():
    for entry in registry:
      defaults = _defaults(registry.entry(entry).build)
      for option in registry.options(entry):
        for label, value in bad_values(entry, option, defaults.get(option)):
          name = f"{package}.{entry}:{option}_{label}"
          if name not in VALID:
            yield name, package, entry, option, value


CASES = {case[0]: case[1:] for case in _cases()}


def _params(ids):
  return [pytest.param(i, marks=pytest.mark.xfail(strict=True, reason=KNOWN_HOLES[i]))
          if i in KNOWN_HOLES else i for i in ids]


def _build_and_check(package, entry, options):
  """make, then (an attack) the checks its every call runs before attacking."""
  registry = REGISTRIES[package]
  made = registry.make(entry, **SUPPLIED.get(package, {}), **options)
  if isinstance(made, Attack):
    _check_call(made, jnp.array([0, 1]))
  return made


def _check_call(attack, y):
  """What `Attack.__call__` checks before it runs (the attack must not override it)."""
  assert type(attack).__call__ is Attack.__call__, type(attack)
  attack.check_call(jnp.full((2, 4, 4, 1), 0.5), y, KEY, lambda z: z.reshape(2, -1)[:, :3])


def _shown(value) -> str:
  """How a message shows the bad value (a substring of every repr of it)."""
  if isinstance(value, float) and math.isnan(value):
    return "nan"
  if isinstance(value, tuple):
    return str(value[0])
  return str(value).rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


@pytest.mark.parametrize("name", _params(sorted(CASES)))
def test_a_bad_option_value_is_refused_naming_the_option(name):
  package, entry, option, value = CASES[name]
  with pytest.raises((ValueError, TypeError)) as info:
    _build_and_check(package, entry, {option: value})
  message = str(info.value)
  assert option in message and _shown(value) in message, message


@pytest.mark.parametrize("name", [f"{p}.{e}" for p, r in REGISTRIES.items() for e in r])
def test_an_unknown_option_is_refused_naming_it(name):
  package, entry = name.split(".", 1)
  with pytest.raises(ValueError, match="no_such_option") as info:
    REGISTRIES[package].make(entry, **SUPPLIED.get(package, {}), no_such_option=1)
  for option in REGISTRIES[package].options(entry):
    assert option in str(info.value)


@pytest.mark.parametrize("entry", ATTACKS.names())
def test_an_attack_refuses_labels_outside_the_classes(entry):
  """Labels 3 of 3 classes, and -1 (issue 34: FAB, FABT, Jitter, TPGD took them)."""
  for y in (jnp.array([0, 3]), jnp.array([-1, 0])):
    with pytest.raises(ValueError, match=r"y must lie in \[0, 3\)"):
      _check_call(ATTACKS.make(entry), y)


def test_the_defaults_build_and_the_lists_name_cases():
  for package, registry in REGISTRIES.items():
    assert registry.names(), package
    for entry in registry:
      _build_and_check(package, entry, {})
  assert set(KNOWN_HOLES) <= set(CASES), set(KNOWN_HOLES) - set(CASES)
  derived = {n for p, r in REGISTRIES.items() for e in r for o in r.options(e)
             for n in [f"{p}.{e}:{o}_{label}" for label, _ in
                       bad_values(e, o, _defaults(r.entry(e).build).get(o))]}
  assert set(VALID) <= derived, set(VALID) - derived
