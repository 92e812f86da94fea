"""Measure names and options through the registry, and bad populations."""

import jax
import jax.numpy as jnp
import pytest

from jaxrobust import measures

KEY = jax.random.key(0)


def apply_fn(params, x):
  return x.reshape(x.shape[0], -1) @ params["kernel"]


PARAMS = {"kernel": jnp.ones((4, 3))}
X = jnp.full((5, 4), 0.5)
Y = jnp.zeros(5, jnp.int32)


def test_unknown_measure_and_option_name_the_choices():
  with pytest.raises(ValueError, match="Unknown measure 'flatnes'.*valid choices"):
    measures.compute(["flatnes"], apply_fn, PARAMS, PARAMS, X, Y, key=KEY)
  with pytest.raises(ValueError, match="Unknown option.*'rhoo'.*valid options"):
    measures.compute(["sharpness"], apply_fn, PARAMS, PARAMS, X, Y, key=KEY,
                     options={"sharpness": {"rhoo": 0.1}})
  with pytest.raises(ValueError, match="not in spec"):
    measures.compute(["loss"], apply_fn, PARAMS, PARAMS, X, Y, key=KEY,
                     options={"sharpness": {"rho": 0.1}})
  with pytest.raises(ValueError, match="non-empty sequence"):
    measures.compute([], apply_fn, PARAMS, PARAMS, X, Y, key=KEY)
  with pytest.raises(ValueError, match="on"):
    measures.MEASURES.make("hessian", on="train")
  with pytest.raises(ValueError, match="rho must be finite and >= 0"):
    measures.MEASURES.make("sharpness", rho=-1.0)


def test_bad_model_inputs():
  with pytest.raises(ValueError, match="one pytree structure"):
    measures.compute(["loss"], apply_fn, PARAMS, {"w": PARAMS["kernel"]}, X, Y, key=KEY)
  with pytest.raises(TypeError, match="integer labels"):
    measures.compute(["loss"], apply_fn, PARAMS, PARAMS, X, Y.astype(float), key=KEY)
  no_kernel = {"w": PARAMS["kernel"]}
  with pytest.raises(ValueError, match="no weight matrices"):
    measures.compute(["norm"], lambda p, x: apply_fn({"kernel": p["w"]}, x), no_kernel,
                     no_kernel, X, Y, key=KEY)


def test_bad_population():
  empty = {"kernel": jnp.ones((0, 4, 3))}
  with pytest.raises(ValueError, match="population is empty"):
    measures.compute_population(["loss"], apply_fn, empty, empty, X, Y, key=KEY)
  two = {"kernel": jnp.ones((2, 4, 3))}
  three = {"kernel": jnp.ones((3, 4, 3))}
  with pytest.raises(ValueError, match="params_init must be stacked like params"):
    measures.compute_population(["loss"], apply_fn, two, three, X, Y, key=KEY)


def test_nan_parameters_percentiles_and_caps_are_named():
  bad = {"kernel": PARAMS["kernel"].at[1, 2].set(jnp.nan)}
  with pytest.raises(ValueError, match=r"params\['kernel'\] must be finite, got 1 non-finite"):
    measures.compute(["norm"], apply_fn, bad, PARAMS, X, Y, key=KEY)
  with pytest.raises(ValueError, match=r"params_init\['kernel'\] must be finite"):
    measures.compute(["norm"], apply_fn, PARAMS, bad, X, Y, key=KEY)
  stacked = jax.tree.map(lambda a, b: jnp.stack([a, b]), PARAMS, bad)
  with pytest.raises(ValueError, match=r"params\['kernel'\] must be finite"):
    measures.compute_population(["norm"], apply_fn, stacked, stacked, X, Y, key=KEY)
  logits = apply_fn(PARAMS, X)
  with pytest.raises(ValueError, match="percentile must be finite and >= 0 and <= 100, got 150"):
    measures.margin.percentile_margin(logits, Y, 150)
  with pytest.raises(ValueError, match="percentile must be finite.*got -1"):
    measures.margin.percentile_margin(logits, Y, -1)
  with pytest.raises(ValueError, match="cap must be finite and > 0, got -1"):
    measures.margin.input_margin(cap=-1)
  assert measures.margin.percentile_margin(logits, Y, 100) == 0.0  # the bounds are valid


def test_population_with_model_state_sees_each_members_state():
  import numpy as np
  from jaxrobust.attacks import PGD
  from jaxrobust.losses import cross_entropy
  scaled = lambda p, x, state: apply_fn(p, x) * state["scale"]
  params = {"kernel": jnp.stack([jnp.eye(4, 3), -jnp.eye(4, 3)])}
  state = {"scale": jnp.array([1.0, 3.0])}
  out = measures.compute_population(["loss"], scaled, params, params, X, Y, key=KEY,
                                    attack=PGD(eps=0.0, steps=1, random_start=False),
                                    model_state=state)
  for i in range(2):
    want = jnp.mean(cross_entropy(X @ params["kernel"][i] * state["scale"][i], Y))
    np.testing.assert_allclose(out["ce_clean"][i], want, rtol=1e-5)
