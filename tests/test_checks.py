"""The shared checks (jaxrobust/_checks.py): good input passes them, traced values pass
them outside the checked mode and fail inside it. The bad-input tables of the public
entries are the tests/<package>/test_fuzz.py files.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

from jaxrobust import _checks, data, defenses, losses, optim, theory
from jaxrobust.attacks.pgd import PGD

LOGITS = jnp.array([[2.0, 0.5, -1.0, 0.0], [0.1, 0.2, 0.3, 0.4]])
Y = jnp.array([0, 3])


def test_good_input_still_works_and_traced_values_pass_the_value_checks():
  np.testing.assert_allclose(losses.cross_entropy(LOGITS, Y),
                             jax.jit(losses.cross_entropy)(LOGITS, Y))
  assert data.to_float(np.array([0, 255], np.uint8)).tolist() == [0.0, 1.0]
  assert data.to_float(np.array([0.25], np.float32)).tolist() == [0.25]  # not divided again
  assert data.num_batches(10, 3) == 3 and data.num_batches(10, 3, drop_remainder=False) == 4
  # Under jit the labels are traced: shapes are checked, values cannot be.
  jax.jit(losses.cw_margin)(LOGITS, jnp.array([0, 9]))
  with pytest.raises(ValueError, match=r"\[batch\]"):
    jax.jit(losses.cw_margin)(LOGITS, Y[:, None])
  # A defense rebuilt by jax from traced leaves is not value-checked.
  jax.jit(lambda b: defenses.TRADES(beta=b).beta)(jnp.float32(-1.0))


@pytest.mark.parametrize("value, low, low_open, ok", [
    (0.0, 0, False, True), (0.0, 0, True, False), (np.inf, None, False, False),
    (jnp.array([1.0, -1.0]), 0, False, False), (object(), 0, False, True)])
def test_check_number(value, low, low_open, ok):
  if ok:
    _checks.check_number("x", value, low=low, low_open=low_open)
  else:
    with pytest.raises(ValueError, match="x must be finite"):
      _checks.check_number("x", value, low=low, low_open=low_open)


NAN = float("nan")
W = jnp.array([1.0, -2.0, 0.5])
X = jnp.ones((4, 3))
Y_SIGNED = jnp.array([1.0, -1.0, 1.0, -1.0])
PARAMS = {"w": jnp.ones(3)}
KEY = jax.random.key(0)


# The checked mode (checkify) under jit: traced values that jit alone lets through.

def test_checked_mode_raises_for_traced_values_that_jit_alone_lets_through():
  margin = lambda eps: theory.adversarial_margin(W, 0.0, X, Y_SIGNED, eps, 2)  # noqa: E731
  assert bool(jnp.all(jnp.isnan(jax.jit(margin)(jnp.float32(NAN)))))  # unchecked under jit
  np.testing.assert_array_equal(_checks.checked(margin)(0.1), margin(0.1))
  with pytest.raises(checkify.JaxRuntimeError, match=r"eps must be finite and >= 0, got nan"):
    _checks.checked(margin)(jnp.float32(NAN))
  with pytest.raises(ValueError, match="noise_multiplier must be finite and >= 0"):
    _checks.checked(lambda s: optim.privatize(PARAMS, KEY, 1.0, s, 8.0))(-1.0)
  logits = jnp.zeros((2, 4))
  with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\)"):
    _checks.checked(losses.cross_entropy)(logits, jnp.array([0, 9]))
  # The checks add nothing to a program traced outside the checked mode.
  assert "check" not in str(jax.make_jaxpr(margin)(0.1))


def test_checked_mode_catches_a_nan_attack_radius_under_jit():
  logits_fn = lambda x: x.reshape(x.shape[0], -1)[:, :3]  # noqa: E731
  x, y = jnp.full((2, 2, 2, 1), 0.5), jnp.array([0, 1])
  def attack(eps):
    return PGD(eps=eps, step_size=0.1, steps=1, norm="l2", random_start=False)(logits_fn, x, y)
  assert _checks.checked(attack)(0.1).shape == x.shape
  with pytest.raises(checkify.JaxRuntimeError, match="eps must be finite"):
    _checks.checked(attack)(jnp.float32(NAN))
