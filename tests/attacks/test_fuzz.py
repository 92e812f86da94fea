"""Bad input to the attacks' public entries besides the registry's classes (those are
tests/test_fuzz_registries.py's): a clear error each, before any attack step runs."""

import jax
import jax.numpy as jnp

from jaxrobust import attacks
from jaxrobust.losses import cross_entropy
from tests.bad_input import fuzz_test

NAN = float("nan")
KEY = jax.random.key(0)
X = jnp.full((2, 4, 4, 1), 0.5)
Y = jnp.array([0, 1])
LOGITS = jnp.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
PGD = attacks.PGD(eps=0.1, step_size=0.05, steps=1, random_start=False)


def logits_fn(x):
  return x.reshape(x.shape[0], -1)[:, :3]


def _sweep(eps, **kwargs):
  return lambda: attacks.sweep(PGD, logits_fn, X, Y, eps=eps, **kwargs)


CASES = {
    "attacks.minimal_radii:unknown_norm": (
        lambda: attacks.minimal_radii(logits_fn, X, X, Y, "l3"), ValueError,
        ["norm", "'l3'", "linf"]),
    "attacks.minimal_radii:shapes_differ": (
        lambda: attacks.minimal_radii(logits_fn, X, X[:1], Y, "l2"), ValueError,
        ["x and x_adv", "one shape"]),
    "attacks.minimal_norm_curve:eps_negative": (
        lambda: attacks.minimal_norm_curve(jnp.ones(3), [0.1, -0.2]), ValueError,
        ["eps_grid", "finite and >= 0"]),
    "attacks.minimal_norm_curve:radii_2d": (
        lambda: attacks.minimal_norm_curve(jnp.ones((3, 2)), [0.1]), ValueError,
        ["radii", "1-D [batch]"]),
    "attacks.PGD:eps_negative": (lambda: attacks.PGD(eps=-0.1)(logits_fn, X, Y), ValueError,
                                 ["eps", ">= 0", "-0.1"]),
    "attacks.PGD:steps_zero": (lambda: attacks.PGD(steps=0), ValueError, ["steps", "0"]),
    "attacks.PGD:norm_unknown": (lambda: attacks.PGD(norm="l3"), ValueError, ["norm", "'l3'"]),
    "attacks.PGD:label_high": (lambda: PGD(logits_fn, X, jnp.array([0, 3])), ValueError,
                               ["y", "[0, 3)"]),
    "attacks.PGD:images_uint8": (lambda: PGD(logits_fn, X.astype(jnp.uint8), Y), TypeError,
                                 ["x", "uint8"]),
    "attacks.Restarts:restarts_zero": (lambda: attacks.Restarts(PGD, restarts=0), ValueError,
                                       ["restarts", ">= 1", "0"]),
    "attacks.Sweep:strategy_unknown": (lambda: attacks.Sweep(PGD, jnp.array([0.1]), "loop"),
                                       ValueError, ["strategy", "'loop'"]),
    "attacks.sweep:eps_negative": (_sweep([0.1, -0.1]), ValueError, ["eps", ">= 0"]),
    "attacks.sweep:eps_empty": (_sweep([]), ValueError, ["eps", "non-empty"]),
    "attacks.robust_accuracy_curve:eps_nan": (
        lambda: attacks.robust_accuracy_curve(PGD, logits_fn, X, Y, eps=[NAN]), ValueError,
        ["eps", "finite"]),
    "attacks.stack_eps:eps_matrix": (lambda: attacks.stack_eps(PGD, [[0.1]]), ValueError,
                                     ["eps", "1-D"]),
    "attacks.ascent_direction:norm_unknown": (
        lambda: attacks.ascent_direction(X, "l3"), ValueError, ["norm", "'l3'"]),
    "attacks.ascent_direction:sparsity_above_one": (
        lambda: attacks.ascent_direction(X, "l1", l1_sparsity=1.5), ValueError,
        ["l1_sparsity", "1.5"]),
    "attacks.perturbation_norm:norm_unknown": (
        lambda: attacks.perturbation_norm(X, "l0"), ValueError, ["norm", "'l0'"]),
    "attacks.to_ball_and_box:eps_negative": (
        lambda: attacks.to_ball_and_box(X, X, -0.1, "linf"), ValueError, ["eps", "-0.1"]),
    "attacks.to_ball_and_box:shapes": (
        lambda: attacks.to_ball_and_box(X, X[:1], 0.1, "linf"), ValueError, ["x", "x_adv"]),
    "attacks.random_start:eps_nan": (lambda: attacks.random_start(KEY, X, NAN, "linf"),
                                     ValueError, ["eps", "finite"]),
    "attacks.random_start:norm_unknown": (lambda: attacks.random_start(KEY, X, 0.1, "l3"),
                                          ValueError, ["norm", "'l3'"]),
    "attacks.random_targets:classes_one": (lambda: attacks.random_targets(KEY, Y, 1), ValueError,
                                           ["num_classes", ">= 2", "1"]),
    "attacks.random_targets:label_high": (
        lambda: attacks.random_targets(KEY, jnp.array([0, 5]), 3), ValueError,
        ["labels", "[0, 3)"]),
    "attacks.least_likely_targets:logits_vector": (
        lambda: attacks.least_likely_targets(LOGITS[0]), ValueError,
        ["logits", "[batch, classes]"]),
    "attacks.input_gradient:label_high": (
        lambda: attacks.input_gradient(logits_fn, cross_entropy, X, jnp.array([0, 3])),
        ValueError, ["labels", "[0, 3)"]),
    "attacks.eot_gradient:samples_zero": (
        lambda: attacks.eot_gradient(lambda x, k: logits_fn(x), cross_entropy, X, Y, KEY, 0),
        ValueError, ["samples", ">= 1", "0"]),
    "attacks.jitter_loss:scale_negative": (
        lambda: attacks.jitter_loss(LOGITS, Y, jnp.zeros_like(LOGITS), -1.0), ValueError,
        ["scale", "-1.0"]),
    "attacks.jitter_loss:label_high": (
        lambda: attacks.jitter_loss(LOGITS, jnp.array([0, 3]), jnp.zeros_like(LOGITS), 1.0),
        ValueError, ["labels", "[0, 3)"]),
    "attacks.fourier_basis:height_zero": (lambda: attacks.fourier_basis(0, 4), ValueError,
                                          ["height", ">= 1", "0"]),
    "attacks.fourier_basis:frequencies_flat": (
        lambda: attacks.fourier_basis(4, 4, [1, 2]), ValueError, ["frequencies", "[k, 2]", "(2,)"]),
}

test_bad_input_raises_a_clear_error = fuzz_test(CASES)
