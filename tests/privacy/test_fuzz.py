"""Bad input to privacy's public entries (clipping, sampling, accounting): a clear error each.

Bad numbers come as Python floats and as concrete jax scalars alike. The
accountant's name is checked first, even where no accountant is needed.
"""

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import privacy
from tests.bad_input import fuzz_test

NAN = float("nan")
KEY = jax.random.key(0)
PARAMS = {"w": jnp.ones(3)}


def _linear_loss(params, batch):
  x, y = batch
  return (x @ params["w"] - y) ** 2


def _clipped(mask, l2_clip=1.0, **kwargs):
  batch = (jnp.ones((4, 3)), jnp.zeros(4))
  return lambda: privacy.clipped_grad_sum(_linear_loss, PARAMS, batch, mask, l2_clip=l2_clip,
                                          **kwargs)


CASES = {
    "privacy.clip_factors:clip_zero": (
        lambda: privacy.clip_factors(jnp.ones(3), 0.0), ValueError, ["l2_clip", "> 0", "0.0"]),
    "privacy.clip_factors:clip_negative_jax": (
        lambda: privacy.clip_factors(jnp.ones(3), jnp.float32(-1)), ValueError, ["l2_clip", "> 0"]),
    "privacy.clip_factors:clip_nan": (
        lambda: privacy.clip_factors(jnp.ones(3), NAN), ValueError, ["l2_clip", "finite"]),
    "privacy.clipped_grad_sum:clip_zero_jax": (
        _clipped(jnp.ones(4), jnp.float32(0.0)), ValueError, ["l2_clip", "> 0"]),
    "privacy.clipped_grad_sum:mask_short": (
        _clipped(jnp.ones(3)), ValueError, ["mask 3", "batch[0] 4", "batch[1] 4"]),
    "privacy.clipped_grad_sum:mask_2d": (
        _clipped(jnp.ones((4, 1))), ValueError, ["mask", "[batch]", "(4, 1)"]),
    "privacy.clipped_grad_sum:mode": (
        _clipped(jnp.ones(4), mode="opacus"),
        ValueError, ["clipping mode", "'opacus'", "vmap", "ghost"]),
    "privacy.poisson_batch:rate_above_one": (
        lambda: privacy.poisson_batch(KEY, 10, 1.5, 4),
        ValueError, ["sampling_prob", "<= 1", "1.5"]),
    "privacy.poisson_batch:rate_negative": (
        lambda: privacy.poisson_batch(KEY, 10, -0.1, 4),
        ValueError, ["sampling_prob", "> 0", "-0.1"]),
    "privacy.poisson_batch:rate_nan_jax": (
        lambda: privacy.poisson_batch(KEY, 10, jnp.float32(NAN), 4),
        ValueError, ["sampling_prob", "finite"]),
    "privacy.poisson_batch:physical_zero": (
        lambda: privacy.poisson_batch(KEY, 10, 0.5, 0), ValueError, ["physical_size", ">= 1"]),
    "privacy.poisson_batch:num_examples_float": (
        lambda: privacy.poisson_batch(KEY, 10.0, 0.5, 4), ValueError, ["num_examples", "integer"]),
    "privacy.physical_batch_size:rate_above_one": (
        lambda: privacy.physical_batch_size(100, 1.5), ValueError, ["sampling_prob", "1.5"]),
    "privacy.physical_batch_size:rate_nan": (
        lambda: privacy.physical_batch_size(100, NAN), ValueError, ["sampling_prob", "finite"]),
    "privacy.physical_batch_size:no_examples": (
        lambda: privacy.physical_batch_size(0, 0.1), ValueError, ["num_examples", ">= 1", "0"]),
    "privacy.physical_batch_size:overflow_nan": (
        lambda: privacy.physical_batch_size(100, 0.1, NAN), ValueError, ["overflow_prob"]),
    "privacy.epsilon:moments_no_steps": (
        lambda: privacy.epsilon(1.0, 0.1, 0, 1e-5, accountant="moments"),
        ValueError, ["accountant", "'moments'", "rdp", "pld"]),
    "privacy.epsilon:moments_no_noise": (
        lambda: privacy.epsilon(0.0, 0.1, 5, 1e-5, accountant="moments"),
        ValueError, ["accountant", "'moments'"]),
    "privacy.epsilon:noise_nan_jax": (
        lambda: privacy.epsilon(jnp.float32(NAN), 0.1, 5, 1e-5),
        ValueError, ["noise_multiplier", "finite"]),
    "privacy.epsilon:noise_string": (
        lambda: privacy.epsilon("1.0", 0.1, 5, 1e-5),
        TypeError, ["noise_multiplier", "real number", "'1.0'"]),
    "privacy.epsilon:rate_above_one": (
        lambda: privacy.epsilon(1.0, 1.5, 5, 1e-5), ValueError, ["sampling_prob", "1.5"]),
    "privacy.epsilon:delta_zero": (
        lambda: privacy.epsilon(1.0, 0.1, 5, 0.0), ValueError, ["delta", "> 0"]),
    "privacy.epsilon:delta_one": (
        lambda: privacy.epsilon(1.0, 0.1, 5, 1.0), ValueError, ["delta", "(0, 1)"]),
    "privacy.epsilon:delta_nan": (
        lambda: privacy.epsilon(1.0, 0.1, 5, NAN), ValueError, ["delta", "finite"]),
    "privacy.epsilon:steps_negative": (
        lambda: privacy.epsilon(1.0, 0.1, -1, 1e-5), ValueError, ["steps", ">= 0", "-1"]),
    "privacy.epsilon:steps_fraction": (
        lambda: privacy.epsilon(1.0, 0.1, 2.5, 1e-5), ValueError, ["steps", "integer", "2.5"]),
    "privacy.epsilon:steps_nan": (
        lambda: privacy.epsilon(1.0, 0.1, NAN, 1e-5), ValueError, ["steps", "finite"]),
    "privacy.dpsgd_event:noise_negative": (
        lambda: privacy.dpsgd_event(-1.0, 0.1, 5), ValueError, ["noise_multiplier", "-1.0"]),
    "privacy.calibrate_noise:target_nan": (
        lambda: privacy.calibrate_noise(NAN, 1e-5, 0.1, 10),
        ValueError, ["target_epsilon", "finite"]),
    "privacy.calibrate_noise:accountant": (
        lambda: privacy.calibrate_noise(1.0, 1e-5, 0.1, 10, "moments"),
        ValueError, ["accountant", "'moments'"]),
    "privacy.calibrate_noise:tol_zero": (
        lambda: privacy.calibrate_noise(1.0, 1e-5, 0.1, 10, tol=0.0), ValueError, ["tol", "> 0"]),
    "privacy.Accountant:noise_negative_jax": (
        lambda: privacy.Accountant(jnp.float32(-2.0), 0.1, 1e-5),
        ValueError, ["noise_multiplier", ">= 0"]),
    "privacy.Accountant:name": (
        lambda: privacy.Accountant(1.0, 0.1, 1e-5, "gdp"),
        ValueError, ["accountant", "'gdp'", "rdp"]),
    "privacy.bucket_sizes:tail_above_one": (lambda: privacy.bucket_sizes(100, 0.1, (1.5,)),
                                            ValueError, ["tail_probs", "1.5"]),
    "privacy.bucket_sizes:multiple_zero": (lambda: privacy.bucket_sizes(100, 0.1, multiple=0),
                                           ValueError, ["multiple", ">= 1", "0"]),
    "privacy.bucket_sizes:rate_nan": (lambda: privacy.bucket_sizes(100, NAN), ValueError,
                                      ["sampling_prob", "finite"]),
    "privacy.bucket_index:sizes_empty": (lambda: privacy.bucket_index(3, ()), ValueError,
                                         ["sizes", "empty"]),
    "privacy.bucket_index:sizes_descending": (lambda: privacy.bucket_index(3, (8, 4)), ValueError,
                                              ["sizes", "ascending", "(8, 4)"]),
    "privacy.per_example_grads:batch_lengths": (
        lambda: privacy.per_example_grads(_linear_loss, PARAMS, (jnp.ones((4, 3)), jnp.zeros(3))),
        ValueError, ["batch", "leading", "3", "4"]),
    "privacy.attack_preprocess:not_an_attack": (
        lambda: privacy.attack_preprocess("pgd", lambda p, x: x), TypeError,
        ["attack", "'pgd'"]),
    "privacy.per_example_grads:batch_empty": (
        lambda: privacy.per_example_grads(_linear_loss, PARAMS, ()), ValueError,
        ["batch", "no arrays"]),
}

test_bad_input_raises_a_clear_error = fuzz_test(CASES)


def test_good_input_passes_the_same_checks():
  assert float(privacy.epsilon(1.0, 0.1, 0, 1e-5)) == 0.0
  assert privacy.epsilon(jnp.float32(1.0), 0.1, 10, 1e-5) > 0
  np.testing.assert_array_equal(privacy.clip_factors(jnp.array([0.5, 4.0]), 2.0), [1.0, 0.5])
  idx, mask, count = privacy.poisson_batch(KEY, 10, jnp.float32(1.0), 10)
  assert int(count) == 10 and float(mask.sum()) == 10
