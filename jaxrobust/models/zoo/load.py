"""A RobustBench entry by name, from a checkpoint file the user has: `load`."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os

from jaxrobust import _checks
from jaxrobust.models import registry as models_registry
from jaxrobust.models.convert import mapping_for, read_state_dict
from jaxrobust.models.convert.state_dict import import_state_dict
from jaxrobust.models.zoo.entry import DATASETS, THREAT_MODELS, ZooEntry
from jaxrobust.models.zoo.registry import UNSUPPORTED, ZOO

# Keys that some RobustBench checkpoints carry and their architecture never uses
# (RobustBench loads those entries with strict=False; utils._safe_load_state_dict).
_UNUSED_KEYS = ("model_preact_hl1.*",)


def find(name: str, *, dataset: str | None = None,
         threat_model: str | None = None) -> ZooEntry:
  """The entry called `name`: a full key ("cifar10/linf/Carmon2019Unlabeled") or
  RobustBench's name alone where it is unique (else pass dataset / threat_model)."""
  for name_, value, choices in (("dataset", dataset, DATASETS),
                                ("threat_model", threat_model, THREAT_MODELS)):
    if value is not None:  # None: any
      _checks.check_choice(name_, value, tuple(choices))
  if not isinstance(name, str) or not name:
    raise ValueError(f"name must be a zoo entry's name, got {name!r}.")
  wanted = [k for k in list(ZOO.names()) + list(UNSUPPORTED)
            if k == name or k.split("/", 2)[2] == name]
  wanted = [k for k in wanted if dataset in (None, k.split("/")[0])
            and threat_model in (None, k.split("/")[1])]
  if not wanted:
    close = difflib.get_close_matches(name, [k.split("/", 2)[2] for k in ZOO.names()], n=5)
    raise ValueError(f"No zoo entry {name!r} (dataset={dataset!r}, threat_model="
                     f"{threat_model!r}); close names: {close}. All entries: "
                     "jaxrobust.models.zoo.ZOO.names().")
  if len(wanted) > 1:
    raise ValueError(f"Zoo name {name!r} is in {len(wanted)} leaderboards: {wanted}; pass "
                     "dataset= and threat_model=, or the full key.")
  key = wanted[0]
  if key in UNSUPPORTED:
    raise NotImplementedError(f"Zoo entry {key!r} is not supported: its architecture is "
                              f"{UNSUPPORTED[key]}.")
  return ZOO.make(key)


def _sha256(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


def build(entry: ZooEntry):
  """The entry's Flax model (random weights are the caller's `init`)."""
  return models_registry.make(entry.model, num_classes=entry.num_classes, mean=entry.mean,
                              std=entry.std, **entry.options)


def load(name: str, path: str, *, dataset: str | None = None, threat_model: str | None = None,
         sha256: str | None = None):
  """A RobustBench zoo model, from its checkpoint at `path`; nothing is downloaded.

  Args:
    name: RobustBench's name ("Wang2023Better_WRN-28-10") or a full key of `ZOO`.
    path: the checkpoint: `.pt`/`.pth` as RobustBench stores it (a state_dict, or a dict
      holding one under "state_dict", "model_state_dict", "last", ...; "module." /
      "model." prefixes are dropped) or `.safetensors`.
    dataset, threat_model: narrow a name that is in several leaderboards ("Standard").
    sha256: the file's expected hex digest; a file that differs is refused.

  Returns:
    (model, variables, entry): `model.apply(variables, x, train=False)` on x in [0, 1] of
    shape [batch, *entry.input_shape], and the `ZooEntry` (leaderboard figures included).
  """
  entry = find(name, dataset=dataset, threat_model=threat_model)
  if not os.path.isfile(path):
    raise FileNotFoundError(
        f"No checkpoint for {entry.key} at {path!r}. Nothing is downloaded at run time: "
        "fetch it once where there is network, e.g. with RobustBench: `from robustbench.utils "
        f"import load_model; load_model({entry.name!r}, dataset={entry.dataset!r}, "
        f"threat_model={THREAT_MODELS[entry.threat_model]!r})`, which saves it as "
        f"models/{entry.dataset}/{THREAT_MODELS[entry.threat_model]}/{entry.name}.pt, "
        "then pass that file as path.")
  if sha256 is not None:
    found = _sha256(path)
    if found != sha256.lower():
      raise ValueError(f"sha256 of {path!r} is {found}, not the expected {sha256}: "
                       "a different or damaged file.")
  model = build(entry)
  mapping = mapping_for(model, entry.input_shape)
  mapping = dataclasses.replace(mapping, ignore=tuple(mapping.ignore) + _UNUSED_KEYS)
  variables = import_state_dict(read_state_dict(path), model, entry.input_shape,
                                mapping=mapping)
  return model, variables, entry
