"""Per-example losses on hand-checked values."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import losses

LOGITS = jnp.array([[3.0, 1.0, 0.0, -1.0], [0.0, 2.0, 5.0, 1.0]])
LABELS = jnp.array([0, 1])


def test_cross_entropy():
  expected = -jax.nn.log_softmax(LOGITS)[jnp.arange(2), LABELS]
  np.testing.assert_allclose(losses.cross_entropy(LOGITS, LABELS), expected, rtol=1e-6)


def test_cw_margin_is_best_other_minus_true():
  np.testing.assert_allclose(losses.cw_margin(LOGITS, LABELS), [1.0 - 3.0, 5.0 - 2.0])


def test_dlr_by_hand_and_invariant_to_shift_and_scale():
  # Row 0: -(3 - 1) / (3 - 0); row 1: -(2 - 5) / (5 - 1).
  np.testing.assert_allclose(losses.dlr(LOGITS, LABELS), [-2 / 3, 3 / 4], rtol=1e-6)
  np.testing.assert_allclose(losses.dlr(7.0 * LOGITS - 2.0, LABELS), [-2 / 3, 3 / 4], rtol=1e-5)
  with pytest.raises(ValueError, match="3 classes"):
    losses.dlr(LOGITS[:, :2], LABELS)


def test_kl_divergence_is_zero_on_itself_and_matches_definition():
  np.testing.assert_allclose(losses.kl_divergence(LOGITS, LOGITS), 0.0, atol=1e-6)
  p = jax.nn.softmax(LOGITS[0])
  q = jax.nn.softmax(LOGITS[1])
  np.testing.assert_allclose(losses.kl_divergence(LOGITS[:1], LOGITS[1:]),
                             [jnp.sum(p * jnp.log(p / q))], rtol=1e-5)


def test_unknown_loss_lists_choices():
  with pytest.raises(ValueError, match="valid choices.*dlr"):
    losses.get_loss("hinge")


def test_dlr_targeted_by_hand_and_invariant_to_shift_and_scale():
  from jaxrobust.losses.classification import dlr_targeted
  target = jnp.array([2, 3])
  # Sorted rows: [3, 1, 0, -1] and [5, 2, 1, 0]. Row 0: -(3 - 0) / (3 - (0 - 1) / 2);
  # row 1: -(2 - 1) / (5 - (1 + 0) / 2).
  expected = [-3 / 3.5, -1 / 4.5]
  np.testing.assert_allclose(dlr_targeted(LOGITS, LABELS, target), expected, rtol=1e-6)
  np.testing.assert_allclose(dlr_targeted(3.0 * LOGITS + 4.0, LABELS, target), expected,
                             rtol=1e-5)
  # Positive exactly when the target logit is above the true one.
  assert float(dlr_targeted(LOGITS, LABELS, jnp.array([1, 2]))[1]) > 0
  with pytest.raises(ValueError, match="4 classes"):
    dlr_targeted(LOGITS[:, :3], LABELS, target)
