"""Bad input to measures' public entries (the families' own options are
tests/test_fuzz_registries.py's): a clear error each, before any measure runs."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import measures
from tests.bad_input import fuzz_test

NAN = float("nan")
KEY = jax.random.key(0)
LOGITS = jnp.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
Y = jnp.array([0, 2])
X = jnp.full((2, 2, 2, 1), 0.5)
PARAMS = {"w": jnp.ones((4, 3))}
HPARAMS = {"lr": [0.1, 0.1, 0.2, 0.2]}


def apply_fn(params, x):
  return x.reshape(x.shape[0], -1) @ params["w"]


def logits_fn(x):
  return apply_fn(PARAMS, x)


def _prepare(**kwargs):
  args = {"params": PARAMS, "params_init": PARAMS, "x": X, "y": Y, **kwargs}
  return lambda: measures.prepare(apply_fn, args["params"], args["params_init"], args["x"],
                                  args["y"], key=KEY)


CASES = {
    "measures.MEASURES.make_all:names_empty": (
        lambda: measures.MEASURES.make_all([]), ValueError, ["names", "non-empty", "norm"]),
    "measures.MEASURES.make_all:name_unknown": (
        lambda: measures.MEASURES.make_all(["sharpnes"]), ValueError, ["measure", "'sharpnes'"]),
    "measures.MEASURES.make_all:options_unmeasured": (
        lambda: measures.MEASURES.make_all(["norm"], {"margin": {"percentile": 5.0}}), ValueError,
        ["'margin'", "not in spec"]),
    "measures.compute:name_unknown": (
        lambda: measures.compute(["sharpnes"], apply_fn, PARAMS, PARAMS, X, Y, key=KEY),
        ValueError, ["'sharpnes'"]),
    "measures.compute_population:not_stacked": (
        lambda: measures.compute_population(["norm"], apply_fn, {"w": jnp.ones(())},
                                            {"w": jnp.ones(())}, X, Y, key=KEY),
        ValueError, ["params", "stacked", "leading"]),
    "measures.compute_population:chunk_zero": (
        lambda: measures.compute_population(["norm"], apply_fn, {"w": jnp.ones((2, 4, 3))},
                                            {"w": jnp.ones((2, 4, 3))}, X, Y, key=KEY,
                                            chunk=0),
        ValueError, ["chunk", ">= 1", "0"]),
    "measures.prepare:params_nan": (_prepare(params={"w": jnp.full((4, 3), NAN)}), ValueError,
                                    ["params", "finite"]),
    "measures.prepare:structures": (_prepare(params_init={"v": jnp.ones((4, 3))}), ValueError,
                                    ["params and params_init", "structure"]),
    "measures.prepare:labels_float": (_prepare(y=jnp.array([0.0, 1.0])), TypeError,
                                      ["y", "integer"]),
    "measures.prepare:label_high": (_prepare(y=jnp.array([0, 3])), ValueError,
                                    ["y", "[0, 3)"]),
    "measures.output_margins:label_high": (
        lambda: measures.output_margins(LOGITS, jnp.array([0, 3])), ValueError,
        ["labels", "[0, 3)"]),
    "measures.percentile_margin:percentile_above": (
        lambda: measures.percentile_margin(LOGITS, Y, 101.0), ValueError,
        ["percentile", "<= 100", "101.0"]),
    "measures.spectral_norm:vector": (lambda: measures.spectral_norm(jnp.ones(3)), ValueError,
                                      ["matrix", "[m, n]", "(3,)"]),
    "measures.lipschitz_ratio:shapes": (
        lambda: measures.lipschitz_ratio(logits_fn, X, X[:1]), ValueError, ["x", "x_other"]),
    "measures.thickness:points_one": (
        lambda: measures.thickness(logits_fn, X, X, Y, Y, points=1), ValueError,
        ["points", ">= 2", "1"]),
    "measures.thickness:source_high": (
        lambda: measures.thickness(logits_fn, X, X, jnp.array([0, 3]), Y), ValueError,
        ["source", "[0, 3)"]),
    "measures.kendall_tau:lengths": (lambda: measures.kendall_tau([1, 2, 3], [1, 2]), ValueError,
                                     ["a and b", "3 and 2"]),
    "measures.kendall_tau:variant": (lambda: measures.kendall_tau([1, 2], [1, 2], "d"),
                                     ValueError, ["variant", "'d'"]),
    "measures.granulated_kendall:lengths": (
        lambda: measures.granulated_kendall([1.0, 2, 3, 4], [1.0, 2, 3], HPARAMS), ValueError,
        ["measure and gap", "4 and 3"]),
    "measures.granulated_kendall:axis_unknown": (
        lambda: measures.granulated_kendall([1.0, 2, 3, 4], [1.0, 2, 3, 4], HPARAMS, ["wd"]),
        ValueError, ["'wd'", "lr"]),
    "measures.correlation_table:empty": (
        lambda: measures.correlation_table({}, [1.0, 2, 3, 4], HPARAMS), ValueError,
        ["measures", "empty"]),
    "measures.sort_rows:column_unknown": (
        lambda: measures.sort_rows([{"tau": 0.5}], "rho"), ValueError, ["column", "'rho'", "tau"]),
    "measures.format_markdown:limit_negative": (
        lambda: measures.format_markdown([{"tau": 0.5}], limit=-1), ValueError,
        ["limit", ">= 0", "-1"]),
    "measures.pacbayes_sigma:steps_zero": (
        lambda: measures.pacbayes_sigma(_prepare()(), steps=0), ValueError, ["steps", ">= 1"]),
}

test_bad_input_raises_a_clear_error = fuzz_test(CASES)
