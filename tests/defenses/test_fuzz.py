"""Bad input to defenses' public entries: weights that are negative or NaN, as Python or
jax scalars. A clear error each."""

import jax.numpy as jnp

from jaxrobust import attacks, defenses
from tests.bad_input import fuzz_test

CASES = {
    "defenses.TRADES:beta_negative": (
        lambda: defenses.TRADES(beta=-1.0), ValueError, ["TRADES.beta", "-1.0"]),
    "defenses.TRADES:beta_nan_jax": (
        lambda: defenses.TRADES(beta=jnp.float32(jnp.nan)), ValueError, ["TRADES.beta", "finite"]),
    "defenses.MART:beta_negative": (lambda: defenses.MART(beta=-0.5), ValueError, ["MART.beta"]),
    "defenses.BAT:beta_nan": (lambda: defenses.BAT(beta=float("nan")), ValueError, ["BAT.beta"]),
    "defenses.AWP:gamma_negative": (lambda: defenses.AWP(gamma=-2.0), ValueError, ["AWP.gamma"]),
    "defenses.TRADES:eps_negative": (
        lambda: defenses.TRADES(attack=attacks.TPGD(eps=-0.1)),
        ValueError, ["TRADES.attack: eps", "-0.1"]),
    "defenses.absum_prox:threshold_negative": (
        lambda: defenses.absum_prox({"kernel": jnp.ones((3, 3, 1, 2))}, -0.1), ValueError,
        ["threshold", ">= 0", "-0.1"]),
    "defenses.absum_prox:threshold_nan": (
        lambda: defenses.absum_prox({"kernel": jnp.ones((3, 3, 1, 2))}, float("nan")),
        ValueError, ["threshold", "finite"]),
    "defenses.DEFENSES.make:name_unknown": (lambda: defenses.DEFENSES.make("fgsm_at"), ValueError,
                                   ["defense", "'fgsm_at'", "pgd_at"]),
    "defenses.DEFENSES.make:option_unknown": (
        lambda: defenses.DEFENSES.make("trades", betta=1.0), ValueError,
                                     ["betta", "beta"]),
    "defenses.DEFENSES.from_config:no_name": (
        lambda: defenses.DEFENSES.from_config({"beta": 1.0}), ValueError,
                                     ["name", "trades"]),
    "defenses.DEFENSES.from_config:attack_unknown": (
        lambda: defenses.DEFENSES.from_config({"name": "pgd_at", "attack": {"name": "pgdd"}}), ValueError,
        ["attack", "'pgdd'"]),
}

test_bad_input_raises_a_clear_error = fuzz_test(CASES)
