"""fold_batchnorm: the BatchNorm-free model computes the same eval-mode logits."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import measures, models

GRAY = dict(num_classes=10, mean=(0.4,), std=(0.3,))


def _randomized_bn_variables(model, key, shape):
  """Variables with non-trivial running statistics and affine BatchNorm parameters."""
  variables = model.init(key, jnp.zeros(shape), train=False)
  leaves, tree = jax.tree.flatten(variables)
  keys = jax.random.split(jax.random.fold_in(key, 1), len(leaves))
  # Positive perturbations keep var > 0; every leaf moves, so a slip in any is seen.
  leaves = [leaf + 0.3 * jax.random.uniform(k, leaf.shape) for leaf, k in zip(leaves, keys)]
  return jax.tree.unflatten(tree, leaves)


def test_folded_small_cnn_equals_eval_mode_batchnorm():
  model = models.SmallCNN(features=(4, 6), hidden=8, batchnorm=True, **GRAY)
  variables = _randomized_bn_variables(model, jax.random.key(0), (1, 12, 12, 1))
  x = jax.random.uniform(jax.random.key(2), (5, 12, 12, 1))
  folded, params = models.fold_batchnorm(model, variables)
  assert not folded.batchnorm and not any("BatchNorm" in k for k in params)
  want = model.apply(variables, x, train=False)
  got = folded.apply({"params": params}, x)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_fold_vmaps_over_a_population():
  model = models.SmallCNN(features=(3,), hidden=4, batchnorm=True, **GRAY)
  members = [_randomized_bn_variables(model, jax.random.key(i), (1, 8, 8, 1)) for i in range(3)]
  stacked = jax.tree.map(lambda *v: jnp.stack(v), *members)
  together = jax.vmap(lambda v: models.fold_batchnorm(model, v)[1])(stacked)
  for i, member in enumerate(members):
    chex.assert_trees_all_close(jax.tree.map(lambda leaf: leaf[i], together),
                                models.fold_batchnorm(model, member)[1], rtol=1e-6)


def test_model_without_batch_stats_is_returned_as_is():
  model = models.MLP(hidden=(4,), **GRAY)
  variables = model.init(jax.random.key(0), jnp.zeros((1, 4, 4, 1)))
  folded, params = models.fold_batchnorm(model, variables)
  assert folded is model and params is variables["params"]


def test_pre_activation_batchnorm_is_refused():
  model = models.PreActResNet18(num_classes=10, mean=(0.5,) * 3, std=(0.2,) * 3)
  variables = jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros((1, 32, 32, 3)),
                                                train=False))
  with pytest.raises(TypeError, match="PreActResNet18.*batchnorm='ignore'"):
    models.fold_batchnorm(model, variables)


def test_norm_family_refuses_unfolded_batchnorm_and_measures_the_folded_weights():
  model = models.SmallCNN(features=(4,), hidden=8, batchnorm=True, **GRAY)
  variables = _randomized_bn_variables(model, jax.random.key(0), (1, 8, 8, 1))
  x = jax.random.uniform(jax.random.key(1), (6, 8, 8, 1))
  y = jnp.arange(6) % 10
  kw = dict(key=jax.random.key(2))
  apply_bn = lambda p, z: model.apply({**variables, "params": p}, z, train=False)
  with pytest.raises(ValueError, match="fold_batchnorm"):
    measures.compute(["norm"], apply_bn, variables["params"], variables["params"], x, y, **kw)
  folded, params = models.fold_batchnorm(model, variables)
  apply_folded = lambda p, z: folded.apply({"params": p}, z)
  got = measures.compute(["norm"], apply_folded, params, params, x, y, **kw)
  ignored = measures.compute(["norm"], apply_bn, variables["params"], variables["params"], x, y,
                             options={"norm": {"batchnorm": "ignore"}}, **kw)
  conv = params["Conv_0"]["kernel"].reshape(-1, 4)
  first = float(jnp.sum(conv * conv))
  rest = sum(float(jnp.sum(params[f"Dense_{i}"]["kernel"] ** 2)) for i in range(2))
  np.testing.assert_allclose(got["param_norm"], first + rest, rtol=1e-5)
  assert abs(float(got["param_norm"]) - float(ignored["param_norm"])) > 1e-3
