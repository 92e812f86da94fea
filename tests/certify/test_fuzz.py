"""Bad input to certify's public entries (bounds, certified accuracy, randomized
smoothing): a clear error each, before any bound or sample is computed."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import certify, models
from tests.bad_input import fuzz_test

NAN = float("nan")
KEY = jax.random.key(0)
X = jnp.full((2, 2, 2, 1), 0.5)
Y = jnp.array([0, 2])
MLP = models.make("mlp", num_classes=3, mean=(0.5,), std=(0.25,), hidden=(4,))
VARIABLES = MLP.init(KEY, X)
NET = certify.network(MLP, VARIABLES, (2, 2, 1))
CERT = certify.SmoothedCertificate(np.array([0, 1]), np.array([0.1, 0.2]), np.array([0.9, 0.8]),
                                   np.array([10, 9]))


def logits_fn(x):
  return MLP.apply(VARIABLES, x)


def _smoothed(entry, **kwargs):
  args = {"sigma": 0.25, "n": 8, "alpha": 0.01, "key": KEY, **kwargs}
  if entry is certify.smoothed_certify:
    args.setdefault("n0", 4)
  return lambda: entry(logits_fn, X, **args)


CASES = {
    "certify.certified_accuracy:net_model": (
        lambda: certify.certified_accuracy(MLP, X, Y, 0.1), TypeError, ["net", "Network"]),
    "certify.certified_accuracy:eps_negative": (
        lambda: certify.certified_accuracy(NET, X, Y, -0.1), ValueError, ["eps", "-0.1"]),
    "certify.certified_accuracy:label_high": (
        lambda: certify.certified_accuracy(NET, X, jnp.array([0, 3]), 0.1), ValueError,
        ["y", "[0, 3)"]),
    "certify.certified_mask:method_unknown": (
        lambda: certify.certified_mask(NET, X, Y, 0.1, method="lp"), ValueError,
        ["method", "'lp'", "crown"]),
    "certify.certified_curve:eps_nan": (
        lambda: certify.certified_curve(NET, X, Y, [0.1, NAN]), ValueError, ["eps", "finite"]),
    "certify.logit_bounds:x_shape": (lambda: certify.logit_bounds(NET, X[:, :1], 0.1),
                                     ValueError, ["x", "[batch, 2, 2, 1]", "(2, 1, 2, 1)"]),
    "certify.logit_bounds:x_outside_box": (lambda: certify.logit_bounds(NET, X * 3, 0.1),
                                           ValueError, ["x", "[0, 1]", "1.5"]),
    "certify.margin_bounds:norm_unknown": (
        lambda: certify.margin_bounds(NET, X, Y, 0.1, norm="l3"), ValueError, ["norm", "'l3'"]),
    "certify.margin_lower:label_high": (
        lambda: certify.margin_lower(NET, X, jnp.array([0, 3]), 0.1), ValueError,
        ["y", "[0, 3)"]),
    "certify.spec_lower:spec_classes": (
        lambda: certify.spec_lower(NET, X, 0.1, jnp.ones((2, 1, 4))), ValueError,
        ["spec", "[batch, S, 3]", "(2, 1, 4)"]),
    "certify.margin_specs:label_high": (lambda: certify.margin_specs(jnp.array([0, 3]), 3),
                                        ValueError, ["y", "[0, 3)"]),
    "certify.margin_specs:classes_one": (lambda: certify.margin_specs(jnp.array([0]), 1),
                                         ValueError, ["num_classes", ">= 2", "1"]),
    "certify.certified:label_high": (lambda: certify.certified(jnp.ones((2, 3)), jnp.array([0, 3])),
                                     ValueError, ["y", "[0, 3)"]),
    "certify.certified:margins_vector": (lambda: certify.certified(jnp.ones(3), Y), ValueError,
                                         ["margin_low", "[batch, classes]", "(3,)"]),
    "certify.network:input_shape": (lambda: certify.network(MLP, VARIABLES, (3, 3, 1)),
                                    ValueError, ["variables", "inputs (3, 3, 1)"]),
    "certify.network_of:not_callable": (lambda: certify.network_of(VARIABLES, X), TypeError,
                                        ["logits_fn", "callable"]),
    "certify.capture:not_callable": (lambda: certify.capture(None, X), TypeError,
                                     ["logits_fn", "callable"]),
    "certify.smoothed_predict:sigma_zero": (_smoothed(certify.smoothed_predict, sigma=0.0),
                                            ValueError, ["sigma", "> 0"]),
    "certify.smoothed_predict:alpha_one": (_smoothed(certify.smoothed_predict, alpha=1.0),
                                           ValueError, ["alpha", "(0, 1)"]),
    "certify.smoothed_certify:n0_not_below_n": (_smoothed(certify.smoothed_certify, n0=8),
                                                ValueError, ["n0", "< n", "8"]),
    "certify.smoothed_certify:batch_zero": (_smoothed(certify.smoothed_certify, batch_size=0),
                                            ValueError, ["batch_size", ">= 1", "0"]),
    "certify.smoothed_counts:num_zero": (
        lambda: certify.smoothed_counts(logits_fn, X, sigma=0.25, num=0, key=KEY), ValueError,
        ["num", ">= 1", "0"]),
    "certify.smoothed_curve:radii_negative": (lambda: certify.smoothed_curve(CERT, Y, [-0.1]),
                                              ValueError, ["radii", "-0.1"]),
    "certify.smoothed_curve:labels_length": (lambda: certify.smoothed_curve(CERT, Y[:1], [0.1]),
                                             ValueError, ["y", "[batch] = [2]", "(1,)"]),
    "certify.clopper_pearson:alpha_zero": (lambda: certify.clopper_pearson(3, 10, 0.0),
                                           ValueError, ["alpha", "> 0", "0.0"]),
    "certify.clopper_pearson:successes_above_trials": (
        lambda: certify.clopper_pearson(11, 10, 0.05), ValueError,
        ["successes", "trials", "11", "10"]),
    "certify.clopper_pearson:trials_negative": (
        lambda: certify.clopper_pearson(0, -1, 0.05), ValueError, ["trials", "-1"]),
}

test_bad_input_raises_a_clear_error = fuzz_test(CASES)
