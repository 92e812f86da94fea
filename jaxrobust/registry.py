"""Names -> objects, with one field-checked constructor for attacks, defenses and models.

Every config section and binary builds its objects through a `Registry`:
`ATTACKS.make("pgd", eps=0.1, steps=20)` or `ATTACKS.from_config(section)` where
the section is {"name": ..., **options}. A name or an option that does not exist
is an error naming the valid choices; nothing is silently ignored.

These are the only verbs: `make`, `from_config`, and `make_all` for several members
at once (a measure list, a set of pretext tasks). A family that must build a nested
section first (a defense's "attack" section) declares it with `nest`, not with a
wrapper of its own.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable, Iterator, Mapping, Sequence

# Fields that flax modules declare but a user never sets.
_MODULE_FIELDS = ("parent", "name")


def _options_of(build: Callable, exclude: tuple[str, ...]) -> tuple[str, ...]:
  """The keyword options `build` (a dataclass or a function) takes."""
  if dataclasses.is_dataclass(build):
    names = [f.name for f in dataclasses.fields(build) if f.init]
  else:
    names = [p.name for p in inspect.signature(build).parameters.values()
             if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
  return tuple(n for n in names if n not in _MODULE_FIELDS + exclude)


@dataclasses.dataclass(frozen=True)
class Entry:
  """build(**preset, **options) makes the object; `options` are what a user may set."""
  build: Callable[..., Any]
  preset: Mapping[str, Any]
  options: tuple[str, ...]


class Registry:
  """Names of one kind of object ("attack", "defense", "model") -> constructors.

  exclude: options the caller supplies itself (e.g. a model's num_classes from
  the dataset), which are neither listed nor accepted from users.
  """

  def __init__(self, kind: str, exclude: tuple[str, ...] = ()):
    self.kind = kind
    self.exclude = exclude
    self._entries: dict[str, Entry] = {}
    self._aliases: dict[str, str] = {}
    self._nested: dict[str, Registry] = {}

  def register(self, name: str, build: Callable[..., Any], /, *, aliases: tuple[str, ...] = (),
               **preset: Any) -> None:
    """Adds `name`: build(**preset, **options). Preset options are fixed by the name;
    `aliases` are other spellings of it (AutoAttack's "apgd-ce" for "apgd_ce")."""
    for key in (name, *aliases):
      if key in self._entries or key in self._aliases:
        raise ValueError(f"{self.kind} {key!r} is registered twice.")
    options = tuple(o for o in _options_of(build, self.exclude) if o not in preset)
    self._entries[name] = Entry(build, dict(preset), options)
    self._aliases.update({alias: name for alias in aliases})

  def nest(self, option: str, registry: Registry) -> None:
    """The `from_config` hook: a section {"name": ...} given for `option` is built by
    `registry.from_config` first (a defense's "attack" by ATTACKS, AWP's "base" by
    DEFENSES itself); an already built object or None passes through."""
    self._nested[option] = registry

  def __contains__(self, name: str) -> bool:
    return name in self._entries or name in self._aliases

  def __iter__(self) -> Iterator[str]:
    return iter(self._entries)

  def names(self) -> tuple[str, ...]:
    """The registered names (aliases not included)."""
    return tuple(self._entries)

  def aliases(self) -> dict[str, str]:
    """alias -> the name it spells."""
    return dict(self._aliases)

  def canonical(self, name: str) -> str:
    """The registered name that `name` is or spells."""
    name = self._aliases.get(name, name)
    if name not in self._entries:
      also = f" (or their aliases {tuple(self._aliases)})" if self._aliases else ""
      raise ValueError(f"Unknown {self.kind} {name!r}; valid choices: {self.names()}{also}.")
    return name

  def entry(self, name: str) -> Entry:
    return self._entries[self.canonical(name)]

  def options(self, name: str) -> tuple[str, ...]:
    """The options `name` accepts."""
    return self.entry(name).options

  def make(self, name: str, /, **options: Any) -> Any:
    """Builds `name` with `options`; an option it does not have is an error."""
    entry = self.entry(name)
    options = _plain(options)
    unknown = sorted(set(options) - set(entry.options) - set(self.exclude))
    if unknown:
      raise ValueError(f"Unknown option(s) {unknown} for {self.kind} {name!r}; "
                       f"valid options: {entry.options}.")
    return entry.build(**entry.preset, **options)

  def from_config(self, section: Mapping[str, Any], **supplied: Any) -> Any:
    """Builds section["name"] from the section's other fields (plus `supplied`)."""
    options = dict(section)
    if "name" not in options:
      raise ValueError(f"the {self.kind} config names no {self.kind}: add name=..., "
                       f"one of {self.names()}.")
    name = options.pop("name")
    for option, registry in self._nested.items():
      if hasattr(options.get(option), "keys"):
        options[option] = registry.from_config(options[option])
    return self.make(name, **options, **supplied)

  def make_all(self, spec: Sequence[str | Mapping[str, Any]],
               options: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """{name: member} for `spec`, a non-empty sequence of names or {"name": ...} sections,
    each name once; options: {name: {option: value}} for names in spec. Every name is
    checked before any member is built."""
    if isinstance(spec, (str, bytes)) or not hasattr(spec, "__len__") or not len(spec):
      raise ValueError(f"spec must be a non-empty sequence of {self.kind} names or "
                       f"{{'name': ...}} sections (one of {self.names()}), got {spec!r}.")
    sections = [{"name": s} if isinstance(s, str) else _plain(s) for s in spec]
    for section in sections:
      if "name" not in section:
        raise ValueError(f"a {self.kind} section names no {self.kind}: add name=..., "
                         f"one of {self.names()}; got {section!r}.")
      self.entry(section["name"])  # an unknown name fails before any options are read
    names = [s["name"] for s in sections]
    if len(set(names)) != len(names):
      raise ValueError(f"each {self.kind} may appear once in spec, got {names}.")
    options = _plain(options or {})
    for name, extra in options.items():
      if name not in names:
        raise ValueError(f"options given for {self.kind} {name!r}, which is not in spec "
                         f"{tuple(names)}.")
      clash = sorted(set(extra) & set(sections[names.index(name)]))
      if clash:
        raise ValueError(f"options {clash} for {self.kind} {name!r} are set both in its "
                         f"section and in options.")
    return {s["name"]: self.from_config({**s, **dict(options.get(s["name"], {}))})
            for s in sections}


def _plain(options: Mapping[str, Any]) -> dict[str, Any]:
  """Nested config sections (ml_collections.ConfigDict) as plain dicts; lists as tuples
  (static dataclass fields must hash)."""
  out = {}
  for k, v in options.items():
    if hasattr(v, "to_dict"):
      v = v.to_dict()
    out[k] = tuple(v) if isinstance(v, list) else v
  return out
