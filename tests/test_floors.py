"""The house plan of DESIGN.md ("Layout: floors"), enforced over every import.

An import goes only to a lower floor (inside one package, anything). A
function-level import of the project is allowed only where it is not a cycle
dodge: the line says why with a `# deferred: <reason>` comment (for example a
worker that must set XLA flags before JAX starts).
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FLOORS = {
    "_checks": 0, "registry": 0, "sharding": 0, "distributed": 0,
    "losses": 1, "data": 1, "models": 1, "privacy": 1, "optim": 1,
    "attacks": 2, "certify": 2,
    "defenses": 3, "theory": 3,
    "eval": 4, "measures": 4,
    "train": 5,
    "audio": 6, "generative": 6, "adaptation": 6, "anomaly": 6, "selfsup": 6,
    "experiments": 7, "bench": 8,
}


def _unit(module: str) -> str | None:
  """The floor-table unit of a dotted module name (None: not the project's)."""
  parts = module.split(".")
  if parts[0] in ("experiments", "bench"):
    return parts[0]
  if parts[0] != "jaxrobust":
    return None
  return parts[1] if len(parts) > 1 else "jaxrobust"


def _source_unit(path: pathlib.Path) -> str:
  parts = path.relative_to(ROOT).with_suffix("").parts
  return _unit(".".join(parts[:-1] if parts[-1] == "__init__" else parts))


def _imports(path: pathlib.Path):
  """(line, imported module, at top level?) for every project import in a file."""
  tree = ast.parse(path.read_text(), filename=str(path))
  package = ".".join(path.relative_to(ROOT).parent.parts)
  top = {id(node) for node in tree.body}
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
      base = node.module or ""
      if node.level:
        anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
        base = ".".join(anchor + ([base] if base else []))
      # `from jaxrobust import eval` names a package: count the package.
      names = [f"{base}.{alias.name}" if base == "jaxrobust" else base for alias in node.names]
    else:
      continue
    for name in names:
      if _unit(name) is not None:
        yield node.lineno, name, id(node) in top


def _files():
  for folder in ("jaxrobust", "experiments", "bench"):
    yield from sorted((ROOT / folder).rglob("*.py"))


def test_every_unit_has_a_floor():
  units = {_source_unit(path) for path in (ROOT / "jaxrobust").rglob("*.py")}
  assert units - set(FLOORS) == {"jaxrobust"}, "a new package needs its floor in DESIGN.md and here"


def test_no_import_goes_up_a_floor():
  upward = []
  for path in _files():
    here = _source_unit(path)
    for line, name, _ in _imports(path):
      there = _unit(name)
      if there != here and there in FLOORS and FLOORS[there] >= FLOORS.get(here, 99):
        upward.append(f"{path.relative_to(ROOT)}:{line} ({here}, floor {FLOORS.get(here)}) "
                      f"imports {name} (floor {FLOORS[there]})")
  assert not upward, "imports that go up (or sideways) a floor:\n" + "\n".join(upward)


def test_no_function_level_import_dodges_a_cycle():
  deferred = []
  for path in _files():
    lines = path.read_text().splitlines()
    for line, name, at_top in _imports(path):
      if not at_top and "# deferred:" not in lines[line - 1]:
        deferred.append(f"{path.relative_to(ROOT)}:{line} imports {name} inside a function")
  deferred = sorted(set(deferred))
  assert not deferred, ("function-level project imports without a `# deferred: <reason>` "
                        "comment:\n" + "\n".join(deferred))


@pytest.mark.parametrize("source,expected", [
    ("import jaxrobust.train\n", "jaxrobust.train"),
    ("from jaxrobust import eval as e\n", "jaxrobust.eval"),
])
def test_the_walk_sees_imports(tmp_path, source, expected):
  """The walker itself: a file's imports are found (else the tests above pass vacuously)."""
  path = ROOT / "jaxrobust" / "_floors_probe.py"
  try:
    path.write_text(source)
    assert [name for _, name, _ in _imports(path)] == [expected]
  finally:
    path.unlink()
