"""The properties every attack must hold (DESIGN.md), run over every attack.

Cases come from every `tests/attacks/cases_*.py` (see `cases.Case`, budgets and
accuracy drops tuned per family), and every other attack of the registry
(`jaxrobust.attacks.registry.ATTACKS`) gets a default case: a new attack is
covered by its registry line alone.
"""

import functools
import importlib
import pathlib

import chex
from flax import struct
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import attacks
from jaxrobust.attacks.registry import ATTACKS
from jaxrobust.registry import Registry
from tests import numerics
from tests.attacks.cases import EPS, Case

# Ensembles run their components' protocol; tests/attacks/test_autoattack.py
# checks them (at the suite's budgets each would cost minutes here).
NOT_HERE = (attacks.AutoAttack,)


def _unwrapped(attack):
  inner = getattr(attack, "attack", None)
  return _unwrapped(inner) if inner is not None else attack


def default_case(attack) -> Case:
  """A registry attack without a curated case: its defaults at the suite's radius."""
  if not hasattr(attack, "eps"):
    return Case(attack, norm=None, targeted=hasattr(attack, "targeted"))
  norm = getattr(attack, "norm", "linf")
  return Case(attack.replace(eps=EPS[norm]), norm=norm, targeted=hasattr(attack, "targeted"))


def _collect(registry: Registry = ATTACKS) -> dict[str, Case]:
  cases = {}
  for path in sorted(pathlib.Path(__file__).parent.glob("cases_*.py")):
    module = importlib.import_module(f"tests.attacks.{path.stem}")
    overlap = set(cases) & set(module.CASES)
    assert not overlap, f"case names defined twice: {overlap}"
    cases.update(module.CASES)
  curated = {type(_unwrapped(c.attack)) for c in cases.values()}
  for name in registry:
    attack = registry.make(name)
    if type(attack) not in curated and not isinstance(attack, NOT_HERE):
      cases[f"registry:{name}"] = default_case(attack)
  return cases


CASES = _collect()


def test_a_registry_line_is_all_a_new_attack_needs():
  """An attack class registered under a new name gets a conformance case."""

  @struct.dataclass
  class NewPGD(attacks.PGD):
    """A stand-in for a new attack file."""

  registry = Registry("attack")
  for name in ATTACKS:
    registry.register(name, ATTACKS.entry(name).build, **ATTACKS.entry(name).preset)
  registry.register("new_pgd", NewPGD)
  cases = _collect(registry)
  assert set(cases) - set(CASES) == {"registry:new_pgd"}
  case = cases["registry:new_pgd"]
  assert type(case.attack) is NewPGD and case.norm == "linf"
  assert case.attack.eps == EPS["linf"] and case.targeted


def _bound(eps):
  """eps + 1e-6, plus float32 rounding of the norm itself: an L1 norm of 784
  pixels at eps = 15 rounds up to 2 ulps (1.9e-6) above a point exactly on the sphere."""
  return eps * (1 + 1e-6) + 1e-6


def _with(attack, **changes):
  """attack.replace(**changes), reaching through wrappers such as Restarts."""
  inner = getattr(attack, "attack", None)
  if inner is not None:
    return attack.replace(attack=_with(inner, **changes))
  return attack.replace(**changes)


def _has(attack, field):
  inner = getattr(attack, "attack", None)
  return _has(inner, field) if inner is not None else hasattr(attack, field)


def _model(case, logits_fn):
  return (lambda x, key: logits_fn(x)) if case.randomized_model else logits_fn


@pytest.fixture(params=[pytest.param(name, marks=pytest.mark.slow) if CASES[name].slow else name
                        for name in sorted(CASES)])
def case(request):
  return CASES[request.param]


def _bounded(case):
  if case.norm is None:
    pytest.skip("minimum-norm attack: no radius")


def test_zero_eps_returns_x(case, mnist_model):
  _bounded(case)
  logits_fn, x, y, _ = mnist_model
  zero = _with(case.attack, eps=0.0)
  x_adv = zero(_model(case, logits_fn), x[:32], y[:32], key=jax.random.key(0))
  np.testing.assert_array_equal(x_adv, x[:32])


def test_stays_in_the_ball_and_the_box(case, mnist_model):
  logits_fn, x, y, _ = mnist_model
  x_adv = case.attack(_model(case, logits_fn), x[:64], y[:64], key=jax.random.key(0))
  chex.assert_tree_all_finite(x_adv)
  assert x_adv.shape == x[:64].shape and x_adv.dtype == x.dtype
  assert float(x_adv.min()) >= 0.0 and float(x_adv.max()) <= 1.0
  assert float(jnp.abs(x_adv - x[:64]).max()) > 0  # it moved
  if case.norm is not None:
    assert float(attacks.perturbation_norm(x_adv - x[:64], case.norm).max()) <= _bound(EPS[case.norm])


def test_same_key_same_output_and_jit_agrees(case, mnist_model):
  logits_fn, x, y, _ = mnist_model
  model = _model(case, logits_fn)
  # x and y are arguments, not closed-over constants: XLA would constant-fold the
  # clean pass with other rounding, and sign steps flip on near-zero gradients.
  run = lambda a, x, y, key: a(model, x, y, key=key)
  # One program, the same inputs: bit-identical.
  jitted = jax.jit(run)
  first = jitted(case.attack, x[:32], y[:32], jax.random.key(3))
  np.testing.assert_array_equal(first, jitted(case.attack, x[:32], y[:32], jax.random.key(3)))
  # jit and eager are two programs that round differently: compared in float64.
  with jax.enable_x64(True):
    x64 = numerics.to64(x[:32])
    eager = run(case.attack, x64, y[:32], jax.random.key(3))
    numerics.assert_agree(jax.jit(run)(case.attack, x64, y[:32], jax.random.key(3)), eager,
                          logits_fn, y[:32])


def test_lowers_accuracy_of_a_trained_model(case, mnist_model):
  logits_fn, x, y, clean_accuracy = mnist_model
  x_adv = jax.jit(functools.partial(case.attack, _model(case, logits_fn)))(
      x, y, key=jax.random.key(0))
  robust = float((logits_fn(x_adv).argmax(-1) == y).mean())
  assert clean_accuracy > 0.9
  assert robust < clean_accuracy - case.min_drop, (clean_accuracy, robust)


def test_targeted_mode_reaches_the_target(case, mnist_model):
  if not case.targeted:
    pytest.skip("untargeted only")
  logits_fn, x, y, _ = mnist_model
  target = (y[:100] + 1) % 10
  assert float((logits_fn(x[:100]).argmax(-1) == target).mean()) < 0.05
  changes = {"targeted": True}
  if case.norm is not None:
    # At 2 * EPS PGD reaches ~70% of targets on this model (measured), at EPS ~20%.
    changes["eps"] = case.target_eps_scale * EPS[case.norm]
  x_adv = _with(case.attack, **changes)(_model(case, logits_fn), x[:100], target,
                                        key=jax.random.key(0))
  hit = float((logits_fn(x_adv).argmax(-1) == target).mean())
  assert hit > 0.5, hit


def test_sweep_over_eps_by_vmap_matches_single_calls(case, mnist_model):
  """The vmapped sweep and single calls are two programs: compared in float64
  (tests/numerics.py). (The sequential strategy runs the single calls' code:
  test_sweep_restarts_targets checks it once.)"""
  _bounded(case)
  logits_fn, x, y, _ = mnist_model
  model = _model(case, logits_fn)
  radii = [0.0, EPS[case.norm] / 2, EPS[case.norm]]
  with jax.enable_x64(True):
    x64 = numerics.to64(x[:16])
    swept = attacks.sweep(case.attack, model, x64, y[:16], eps=radii, key=jax.random.key(1))
    assert swept.shape == (3,) + x64.shape and swept.dtype == x64.dtype
    stacked = attacks.stack_eps(case.attack, radii)
    for i, r in enumerate(radii):
      assert float(attacks.perturbation_norm(swept[i] - x64, case.norm).max()) <= _bound(r)
      single_attack = jax.tree.map(lambda leaf: leaf[i], stacked)
      single = single_attack(model, x64, y[:16], key=jax.random.key(1))
      numerics.assert_agree(swept[i], single, logits_fn, y[:16])


def test_bad_hyperparameters_raise(case, mnist_model):
  logits_fn, x, y, _ = mnist_model
  model = _model(case, logits_fn)
  for field in ("eps", "step_size"):
    if _has(case.attack, field):
      with pytest.raises(ValueError, match=field):
        _with(case.attack, **{field: -0.1})(model, x[:2], y[:2], key=jax.random.key(0))
  if _has(case.attack, "steps"):
    with pytest.raises(ValueError, match="steps"):
      _with(case.attack, steps=0)
  for field in ("norm", "loss"):
    if _has(case.attack, field):
      with pytest.raises(ValueError, match="valid choices"):
        _with(case.attack, **{field: "nonexistent"})
  for field, bad in case.bad_fields:
    with pytest.raises(ValueError, match=field):
      _with(case.attack, **{field: bad})(model, x[:2], y[:2], key=jax.random.key(0))


def test_bad_inputs_are_rejected(case, mnist_model):
  logits_fn, x, y, _ = mnist_model
  model = _model(case, logits_fn)
  with pytest.raises(ValueError, match="NaN"):
    case.attack(model, x[:2].at[0, 0, 0, 0].set(jnp.nan), y[:2], key=jax.random.key(0))
  with pytest.raises(ValueError, match="input box"):
    case.attack(model, x[:2] * 2 - 0.5, y[:2], key=jax.random.key(0))
  with pytest.raises(TypeError, match="integer labels"):
    case.attack(model, x[:2], y[:2].astype(jnp.float32), key=jax.random.key(0))
  with pytest.raises(ValueError, match=r"\[batch\]"):
    case.attack(model, x[:2], y[:3], key=jax.random.key(0))
