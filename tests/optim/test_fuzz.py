"""Bad input to optim's public entries (SAM family, DP-SGD / DP-SAT): a clear error each.

Bad numbers come as Python floats and as concrete jax scalars alike.
"""

import jax
import jax.numpy as jnp
import optax

from jaxrobust import optim
from tests.bad_input import fuzz_test

NAN = float("nan")
KEY = jax.random.key(0)
PARAMS = {"w": jnp.ones(3)}
SGD = optax.sgd(0.1)

CASES = {
    "optim.sam:rho_negative": (lambda: optim.sam(SGD, -0.1), ValueError, ["rho", ">= 0", "-0.1"]),
    "optim.sam:rho_nan_jax": (
        lambda: optim.sam(SGD, jnp.float32(NAN)), ValueError, ["rho", "finite"]),
    "optim.sam:rho_vector": (
        lambda: optim.sam(SGD, jnp.ones(2)), ValueError, ["rho", "scalar", "(2,)"]),
    "optim.asam:eta_negative": (
        lambda: optim.asam(SGD, 0.5, eta=-0.01), ValueError, ["eta", "-0.01"]),
    "optim.asam:eta_nan_jax": (
        lambda: optim.asam(SGD, 0.5, eta=jnp.float32(NAN)), ValueError, ["eta", "finite"]),
    "optim.asam:rho_nan": (lambda: optim.asam(SGD, NAN), ValueError, ["rho", "finite"]),
    "optim.psatt:rho_negative_jax": (
        lambda: optim.psatt(SGD, jnp.float32(-1.0)), ValueError, ["rho", ">= 0"]),
    "optim.psatt:period_zero": (
        lambda: optim.psatt(SGD, 0.05, period=0), ValueError, ["period", "integer >= 1", "0"]),
    "optim.psatt:period_float": (
        lambda: optim.psatt(SGD, 0.05, period=2.0), ValueError, ["period"]),
    "optim.perturbation:rho_nan": (
        lambda: optim.perturbation(PARAMS, PARAMS, NAN), ValueError, ["rho", "finite"]),
    "optim.perturbation:eta_negative": (
        lambda: optim.perturbation(PARAMS, PARAMS, 0.1, eta=-1.0), ValueError, ["eta", ">= 0"]),
    "optim.sam_gradient:rho_negative": (
        lambda: optim.sam_gradient(lambda p, b: jnp.sum(p["w"]), PARAMS, None, -0.5),
        ValueError, ["rho", "-0.5"]),
    "optim.dp_sgd:noise_negative_jax": (
        lambda: optim.dp_sgd(1.0, jnp.float32(-1.0), 8, KEY),
        ValueError, ["noise_multiplier", ">= 0", "-1"]),
    "optim.dp_sgd:noise_nan": (
        lambda: optim.dp_sgd(1.0, NAN, 8, KEY), ValueError, ["noise_multiplier", "finite"]),
    "optim.dp_sgd:clip_zero_jax": (
        lambda: optim.dp_sgd(jnp.float32(0.0), 1.0, 8, KEY), ValueError, ["l2_clip", "> 0"]),
    "optim.dp_sgd:clip_inf": (
        lambda: optim.dp_sgd(float("inf"), 1.0, 8, KEY), ValueError, ["l2_clip", "finite"]),
    "optim.dp_sgd:batch_zero_jax": (
        lambda: optim.dp_sgd(1.0, 1.0, jnp.float32(0.0), KEY),
        ValueError, ["expected_batch_size", "> 0"]),
    "optim.dp_sat:rho_nan_jax": (
        lambda: optim.dp_sat(jnp.float32(NAN), 1.0, 1.0, 8, KEY), ValueError, ["rho", "finite"]),
    "optim.dp_sat:noise_negative": (
        lambda: optim.dp_sat(0.1, 1.0, -0.5, 8, KEY), ValueError, ["noise_multiplier", "-0.5"]),
    "optim.privatize:batch_zero": (
        lambda: optim.privatize(PARAMS, KEY, 1.0, 1.0, 0),
        ValueError, ["expected_batch_size", "> 0", "got 0"]),
    "optim.privatize:batch_negative_jax": (
        lambda: optim.privatize(PARAMS, KEY, 1.0, 1.0, jnp.float32(-8.0)),
        ValueError, ["expected_batch_size", "> 0"]),
    "optim.privatize:clip_negative": (
        lambda: optim.privatize(PARAMS, KEY, -1.0, 1.0, 8), ValueError, ["l2_clip", "-1.0"]),
    "optim.privatize:noise_nan_jax": (
        lambda: optim.privatize(PARAMS, KEY, 1.0, jnp.float32(NAN), 8),
        ValueError, ["noise_multiplier", "finite"]),
}

test_bad_input_raises_a_clear_error = fuzz_test(CASES)


def test_good_input_passes_the_same_checks():
  optim.dp_sgd(jnp.float32(1.0), jnp.float32(0.0), jnp.float32(8.0), KEY)
  optim.sam(SGD, jnp.float32(0.0))
