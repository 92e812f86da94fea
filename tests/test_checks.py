"""Bad input at public entries: a clear error naming the argument, never a silent answer.

Each case: (entry called with one bad input, expected error type, words its
message must contain). The entries covered so far are listed in the cases.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

from jaxrobust import _checks, attacks, data, defenses, losses, models, optim, theory
from jaxrobust.attacks.pgd import PGD
from jaxrobust.eval.evaluator import Evaluator
from tests import bad_input

LOGITS = jnp.array([[2.0, 0.5, -1.0, 0.0], [0.1, 0.2, 0.3, 0.4]])
Y = jnp.array([0, 3])


def _evaluator_case(images, labels):
  model = models.make("linear", num_classes=4, mean=(0.5,), std=(0.25,))
  variables = model.init(jax.random.key(0), jnp.zeros((1, 4, 4, 1)))
  evaluator = Evaluator(functools.partial(model.apply, train=False), {"clean": None}, 8)
  return lambda: evaluator(variables, images, labels, key=jax.random.key(0))


_IMAGES = np.zeros((6, 4, 4, 1), np.uint8)

CASES = {
    # losses: labels out of range, of the wrong shape or dtype; logits of the wrong rank
    "ce_label_high": (lambda: losses.cross_entropy(LOGITS, jnp.array([0, 4])), ValueError,
                      ["labels", "[0, 4)", "[0, 4]"]),
    "ce_label_negative": (lambda: losses.cross_entropy(LOGITS, jnp.array([-1, 0])), ValueError,
                          ["labels", "[0, 4)"]),
    "ce_float_labels": (lambda: losses.cross_entropy(LOGITS, jnp.array([0.0, 1.0])), TypeError,
                        ["labels", "integer"]),
    "cw_labels_column": (lambda: losses.cw_margin(LOGITS, Y[:, None]), ValueError,
                         ["labels", "[batch]", "(2, 1)"]),
    "dlr_labels_column": (lambda: losses.dlr(LOGITS, Y[:, None]), ValueError, ["labels", "[batch]"]),
    "dlr_label_high": (lambda: losses.dlr(LOGITS, jnp.array([0, 9])), ValueError, ["labels", "[0, 4)"]),
    "dlr_targeted_target_high": (lambda: losses.dlr_targeted(LOGITS, Y, jnp.array([1, 7])),
                                 ValueError, ["target", "[0, 4)"]),
    "ce_batch_mismatch": (lambda: losses.cross_entropy(LOGITS, jnp.array([0, 1, 2])), ValueError,
                          ["labels", "[batch] = [2]", "(3,)"]),
    "ce_logits_rank": (lambda: losses.cross_entropy(LOGITS[0], Y[:1]), ValueError,
                       ["logits", "[batch, classes]"]),
    "kl_shape_mismatch": (lambda: losses.kl_divergence(LOGITS, LOGITS[:, :3]), ValueError,
                          ["one shape", "(2, 4)", "(2, 3)"]),
    # data: mis-scaled images, batch sizes
    "to_float_float_255": (lambda: data.to_float(np.full((2, 2), 200.0, np.float32)), ValueError,
                           ["[0, 1]", "200"]),
    "to_float_uint16": (lambda: data.to_float(np.zeros((2, 2), np.uint16)), TypeError,
                        ["uint8", "uint16"]),
    "to_float_nan": (lambda: data.to_float(np.array([np.nan], np.float32)), ValueError, ["NaN"]),
    "num_batches_zero": (lambda: data.num_batches(10, 0), ValueError, ["batch_size", ">= 1", "0"]),
    "num_batches_negative": (lambda: data.num_batches(10, -3), ValueError, ["batch_size", "-3"]),
    "num_batches_bool": (lambda: data.num_batches(10, True), ValueError, ["batch_size"]),
    "epoch_batches_too_large": (
        lambda: list(data.epoch_batches(_IMAGES, np.zeros(6, np.int32), 10,
                                        key=jax.random.key(0), epoch=1)),
        ValueError, ["batch_size=10", "6 examples", "empty"]),
    # evaluation: lengths that disagree, labels out of range, nothing to evaluate
    "evaluator_length_mismatch": (_evaluator_case(_IMAGES, np.zeros(5, np.int32)), ValueError,
                                  ["images 6", "labels 5"]),
    "evaluator_label_high": (_evaluator_case(_IMAGES, np.full(6, 4, np.int32)), ValueError,
                             ["labels", "[0, 4)"]),
    "evaluator_empty": (_evaluator_case(_IMAGES[:0], np.zeros(0, np.int32)), ValueError,
                        ["no examples"]),
    "evaluator_float_labels": (_evaluator_case(_IMAGES, np.zeros(6, np.float32)), TypeError,
                               ["labels", "integer"]),
    # defenses: weights that are negative or NaN, as Python or jax scalars
    "trades_beta_negative": (lambda: defenses.TRADES(beta=-1.0), ValueError, ["TRADES.beta", "-1.0"]),
    "trades_beta_nan_jax": (lambda: defenses.TRADES(beta=jnp.float32(jnp.nan)), ValueError,
                            ["TRADES.beta", "finite"]),
    "mart_beta_negative": (lambda: defenses.MART(beta=-0.5), ValueError, ["MART.beta"]),
    "bat_beta_nan": (lambda: defenses.BAT(beta=float("nan")), ValueError, ["BAT.beta"]),
    "awp_gamma_negative": (lambda: defenses.AWP(gamma=-2.0), ValueError, ["AWP.gamma"]),
    "trades_eps_negative": (lambda: defenses.TRADES(attack=attacks.TPGD(eps=-0.1)), ValueError,
                            ["TRADES.attack: eps", "-0.1"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_raises_a_clear_error(name):
  bad_input.assert_clear_error(*CASES[name])


def test_good_input_still_works_and_traced_values_pass_the_value_checks():
  np.testing.assert_allclose(losses.cross_entropy(LOGITS, Y), jax.jit(losses.cross_entropy)(LOGITS, Y))
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
