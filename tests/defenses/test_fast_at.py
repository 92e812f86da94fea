"""Fast AT's defaults are the catastrophic-overfitting fix's authors' (c = 3 checkpoints),
in the class and wherever a config names the fix; c = 0 is plain FGSM-RS."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import default, fast_at_co
from jaxrobust import defenses
from jaxrobust.defenses.fast_at import FastAT, fgsm_point


def test_the_fix_is_on_by_default_with_three_checkpoints():
  assert FastAT().co_checkpoints == 3
  assert (FastAT().step_ratio, FastAT().random_start) == (1.25, True)  # FGSM-RS, 10/255 at 8/255
  assert default.get_config("fast_at").defense.co_checkpoints == 3
  assert defenses.DEFENSES.from_config(default.get_config("fast_at").defense).co_checkpoints == 3
  fix, plain = fast_at_co.get_config(), fast_at_co.get_config("plain")
  assert (fix.defense.co_checkpoints, plain.defense.co_checkpoints) == (3, 0)
  assert fix.defense.to_dict() == dict(plain.defense.to_dict(), co_checkpoints=3)
  with pytest.raises(ValueError, match="Unknown config mode"):
    fast_at_co.get_config("fgsm")


def _problem():
  w = jnp.asarray(np.random.default_rng(0).normal(size=(12, 4)), jnp.float32)
  x = jax.random.uniform(jax.random.key(1), (16, 2, 2, 3))
  y = jnp.arange(16) % 4
  return (lambda z: z.reshape(z.shape[0], -1) @ w), x, y


def test_zero_checkpoints_is_plain_fgsm_rs_and_the_default_checks_thirds_of_the_step():
  logits_fn, x, y = _problem()
  key = jax.random.key(3)
  step = fgsm_point(logits_fn, x, y, 0.1, 1.25, True, key)
  np.testing.assert_array_equal(
      FastAT(eps=0.1, co_checkpoints=0).adversarial_inputs(logits_fn, x, y, key=key), step)
  fixed = FastAT(eps=0.1).adversarial_inputs(logits_fn, x, y, key=key)
  # Each example lands on x + (k/3)(step - x), k in {0, 1, 2, 3}, and some short of the step.
  ratio = np.asarray(((fixed - x) * (step - x)).reshape(16, -1).sum(1)
                     / np.maximum(((step - x) ** 2).reshape(16, -1).sum(1), 1e-12))
  assert np.all(np.min(np.abs(ratio[:, None] - np.arange(4) / 3), axis=1) < 1e-5)
  assert len(set(np.round(3 * ratio).astype(int).tolist())) >= 2
