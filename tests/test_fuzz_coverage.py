"""Every public entry of every package is fuzzed, or says why it has nothing to check.

The entries: each package of the floor table (tests/test_floors.py) and its
`__all__` (or, without one, its public names), keeping the callables the
project defines (functions and classes, not constants, registries or modules).
An entry is covered by
  * a case of a fuzz table: a key "<package>.<entry>:<what is bad>" of `CASES`
    in any tests/<package>/test_fuzz.py;
  * its registry: a class or builder registered in a `Registry` is fuzzed by
    tests/test_fuzz_registries.py, one case per option;
  * `NOTHING_TO_CHECK` below, with the reason;
  * `PENDING` (packages another branch fuzzes) or `OPEN` (not fuzzed yet): both
    are to shrink to nothing, and an entry listed there that is covered fails.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pathlib
import re
import sys

import pytest

from jaxrobust.registry import Registry
from tests.test_floors import FLOORS

ROOT = pathlib.Path(__file__).resolve().parent
PACKAGES = tuple(p for p in FLOORS if p not in ("_checks", "registry", "experiments", "bench"))
KEY = re.compile(r"^(?P<package>[a-z_]+)\.(?P<entry>[A-Za-z_][\w.]*):(?P<what>\w+)$")

_RESULT = "a record the library returns (NamedTuple / struct): the user never builds one"
_STATE = "an optimizer state the transform builds and updates, never a user's input"
_ERROR = "an exception class the library raises"
_MODULE = "a flax module built inside a model whose fields the model's checks cover"

# Public entries that take no user input a check could refuse, and why.
NOTHING_TO_CHECK = {
    # the method families: result and data records, checked where they are used
    "adaptation.AdaptationResult": "a result record (returned, not built by users)",
    "adaptation.Domain": "a data record: load_domain / make_pair check what goes in",
    "adaptation.DomainPair": "a data record: make_pair checks its domains",
    "anomaly.AnomalySplit": "a data record: make_split checks what goes in",
    "anomaly.Detector": "the detectors' base class: its subclasses are the registry's",
    "anomaly.FitResult": "a result record (returned by fit_detector)",
    "selfsup.PretextResult": "a result record (returned by fit_pretext)",
    "sharding.gather": "takes any pytree of arrays to the host: nothing to refuse",
    "distributed.define_flags": "defines absl flags; no input",
    "distributed.is_main_process": "no input",
    # defenses
    "defenses.Defense": "a typing Protocol (the interface), not called",
    "defenses.AdversarialDefense": "a base class: its subclasses are the registry's, fuzzed there",
    "defenses.absum_penalty": "any params pytree is valid (non-kernel leaves are skipped)",
    # models
    "models.as_logits_fn": "wraps (model, variables) into a closure; model.apply checks the call",
    "models.as_randomized_logits_fn": "a closure over (model, variables), as as_logits_fn",
    "models.bounded_logit": "a head: an elementwise map, valid on any real array",
    "models.log_sigsoftmax": "a head: a last-axis map, valid on any real array",
    # optim
    "optim.DPSATState": _STATE, "optim.DPSGDState": _STATE, "optim.PSATTState": _STATE,
    "optim.SAMState": _STATE,
    "optim.psatt_clean_params": "params and an optimizer state: jax.tree.map checks the structure",
    # theory
    "theory.FitResult": _RESULT, "theory.LanczosResult": _RESULT, "theory.Sharpness": _RESULT,
    # train
    "train.FitResult": _RESULT, "train.PopulationResult": _RESULT, "train.TrainedModel": _RESULT,
    "train.TrainState": "flax's TrainState: built by init_state, whose arguments are fuzzed",
    "train.variables": "reads a TrainState's fields (built by init_state)",
    "train.optax_update": "tx, grads, opt_state of one model: optax checks their structure",
    "train.restore_target": "any pytree (the state a checkpoint restores into)",
    "train.CheckpointDamagedError": _ERROR, "train.CheckpointMismatchError": _ERROR,
    "train.TrainingDivergedError": _ERROR,
    # certify: the bound-propagation network's layers, built by `network` / `network_of`
    "certify.Flatten": "takes no arguments", "certify.ReLU": "takes no arguments",
    "certify.Dense": "a layer `network` / `network_of` build from a model's own parameters",
    "certify.Conv": "a layer `network` / `network_of` build from a model's own parameters",
    "certify.Scale": "a layer `network` / `network_of` build from a model's own parameters",
    "certify.Network": "built by `network` / `network_of` (fuzzed); the bounds check it is one",
    "certify.SmoothedCertificate": _RESULT,
    # data
    "data.AudioInfo": _RESULT, "data.DatasetInfo": _RESULT, "data.ForecastData": _RESULT,
    "data.Dataset": _RESULT, "data.AudioDataset": _RESULT,
    "data.dataset_names": "takes no arguments",
    # eval
    "eval.Suite": _RESULT,
    "eval.format_table": "formats accuracies the library computed (no range to refuse)",
    "eval.format_evaluation": "formats evaluate_models' reports (their fields are the check)",
    "eval.plot_training_curves": "draws records the library wrote (metrics.jsonl)",
    "eval.plot_robustness_curves": "draws curves evaluate_models returned",
    "eval.plot_population_curves": "draws records the library wrote (metrics.jsonl)",
    # measures
    "measures.MeasureInputs": "a record built by measures.prepare, whose arguments are fuzzed",
}

# Entries of a package with a fuzz file still without a case: package -> {name: why}.
PENDING: dict[str, dict[str, str]] = {}

# Entries not fuzzed yet, and why.
OPEN: dict[str, str] = {
    "generative.ConditionalGenerator": "Domain Fusion's generator module: its widths are "
                                       "checked where the players are built, not at the class",
    "generative.ProjectionDiscriminator": "as ConditionalGenerator",
    "generative.ImputerMLP": "GAIN's network module: GAIN checks its widths, not the class",
    "audio.DetectorMLP": "the detector's network module: detection.fit_detector builds it; "
                         "its widths are not checked at the class",
    "audio.WaveEncoder": "the SSL encoder module: ssl.train_encoder builds it; its sizes are "
                         "not checked at the class",
    "eval.write_json": "a NaN in a report is written as NaN (not JSON); refusing it could end a "
                       "finished study at its last line: null or refuse is a decision to take",
    "train.fit": "a config missing a field ends in ml_collections' KeyError naming it; the "
                 "config checks are issue 34 item 3 (the binaries, another branch)",
    "train.fit_population": "as train.fit (its config), plus hparams: not fuzzed yet",
    "train.export_member": "needs a trained PopulationResult (seconds of training) to fuzz",
}


def _registered_builds() -> set:
  """Every class or builder registered in a `Registry` of an imported jaxrobust module."""
  builds = set()
  for name, module in list(sys.modules.items()):
    if not name.startswith("jaxrobust") or module is None:
      continue
    for value in list(vars(module).values()):
      if isinstance(value, Registry):
        builds.update(value.entry(n).build for n in value)
  return builds


def _exports(package: str) -> dict[str, object]:
  """{public name: value} of `jaxrobust.<package>` (its `__all__`, else no leading _)."""
  module = importlib.import_module(f"jaxrobust.{package}")
  names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
  return {name: getattr(module, name) for name in names}


def _home(value) -> str | None:
  """The package (a key of FLOORS) whose module defines value, or None."""
  parts = (getattr(value, "__module__", None) or "").split(".")
  return parts[1] if parts[0] == "jaxrobust" and len(parts) > 1 else None


def public_entries(package: str) -> list[str]:
  """The public callables `jaxrobust.<package>` exports (functions and classes the project
  defines): those defined in it, and those of a package that does not export them itself
  (audio's front-ends live in models); a name re-exported from where it is public (train's
  sharding helpers) is fuzzed there."""
  out = []
  for name, value in _exports(package).items():
    if inspect.ismodule(value) or not callable(value) or isinstance(value, Registry):
      continue
    home = _home(value)
    if home == package or (home in PACKAGES and
                           all(v is not value for v in _exports(home).values())):
      out.append(name)
  return sorted(out)


def fuzz_files() -> list[pathlib.Path]:
  return sorted(ROOT.glob("*/test_fuzz.py"))


def fuzz_keys() -> dict[str, str]:
  """{case key: its file} over every tests/<package>/test_fuzz.py."""
  keys = {}
  for path in fuzz_files():
    module = importlib.import_module(f"tests.{path.parent.name}.test_fuzz")
    for key in getattr(module, "CASES", {}):
      keys[key] = str(path.relative_to(ROOT.parent))
  return keys


@functools.cache
def _coverage():
  for package in PACKAGES:
    importlib.import_module(f"jaxrobust.{package}")
  builds = _registered_builds()
  keys = fuzz_keys()
  cased = {m["package"] + "." + m["entry"] for m in map(KEY.match, keys) if m}
  table = {}
  for package in PACKAGES:
    module = importlib.import_module(f"jaxrobust.{package}")
    rows = {}
    for name in public_entries(package):
      full = f"{package}.{name}"
      if full in cased:
        rows[name] = "case"
      elif getattr(module, name) in builds:
        rows[name] = "registry"
      elif full in NOTHING_TO_CHECK:
        rows[name] = "nothing"
      elif name in PENDING.get(package, {}):
        rows[name] = "pending"
      elif full in OPEN:
        rows[name] = "open"
      else:
        rows[name] = "uncovered"
    table[package] = rows
  return table, keys


def test_every_fuzz_key_names_a_package_entry_and_what_is_bad():
  bad = []
  for key, path in fuzz_keys().items():
    match = KEY.match(key)
    if not match or match["package"] not in PACKAGES:
      bad.append(f"{path}: {key!r} is not '<package>.<entry>:<what is bad>'")
      continue
    target = importlib.import_module(f"jaxrobust.{match['package']}")
    for part in match["entry"].split("."):
      target = getattr(target, part, None)
    if target is None:
      bad.append(f"{path}: {key!r} names no entry of jaxrobust.{match['package']}")
  assert not bad, "\n".join(bad)


def test_every_public_entry_is_fuzzed_or_has_nothing_to_check():
  table, _ = _coverage()
  uncovered = [f"{p}.{n}" for p, rows in table.items() for n, how in rows.items()
               if how == "uncovered"]
  assert not uncovered, (
      "public entries without a fuzz case: add one to tests/<package>/test_fuzz.py (or a "
      f"reason to NOTHING_TO_CHECK): {uncovered}")


def test_the_lists_hold_no_stale_names():
  """An allowlisted, pending or open name must exist and have no case (delete it then)."""
  table, _ = _coverage()
  where = {f"{p}.{n}": how for p, rows in table.items() for n, how in rows.items()}
  listed = [(f, "NOTHING_TO_CHECK", "nothing") for f in NOTHING_TO_CHECK]
  listed += [(f"{p}.{n}", "PENDING", "pending") for p, names in PENDING.items() for n in names]
  listed += [(f, "OPEN", "open") for f in OPEN]
  stale = [f"{f} in {name} is now {where.get(f, 'not a public entry')}"
           for f, name, how in listed if where.get(f) != how]
  assert not stale, "delete from the lists: " + "; ".join(stale)


@pytest.mark.parametrize("package", PACKAGES)
def test_report_per_package(package, capsys):
  """Prints cases / entries / covered / allowlisted / pending / open (run with -s)."""
  table, keys = _coverage()
  rows = table[package]
  count = lambda how: sum(1 for h in rows.values() if h == how)  # noqa: E731
  cases = sum(1 for k in keys if k.startswith(package + "."))
  with capsys.disabled():
    print(f"\n{package}: {cases} cases, {len(rows)} entries: {count('case')} with a case, "
          f"{count('registry')} by registry, {count('nothing')} allowlisted, "
          f"{count('pending')} pending, {count('open')} open")
  assert count("uncovered") == 0
