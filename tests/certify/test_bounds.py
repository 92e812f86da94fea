"""Bounds: the walk equals the model, soundness by sampling and attack, exactness on linear
models (the closed forms of jaxrobust.theory), CROWN tighter than IBP, jit/vmap, bad input."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust import certify, models, theory
from jaxrobust.attacks import PGD
from tests.certify import _trained

BOUND_METHODS = certify.BOUND_METHODS
CASES = [(m, n) for m in ("mlp", "small_cnn") for n in ("linf", "l2")]
EPS = {"linf": 0.03, "l2": 0.3}


@functools.lru_cache(maxsize=None)
def setup(name):
  model, variables = _trained.trained(name)
  _, _, x, y = _trained.digits()
  x, y = x[:48], y[:48]
  return model, variables, models.as_logits_fn(model, variables), x, y


@pytest.mark.parametrize("batchnorm", [False, True])
def test_walk_equals_model(batchnorm):
  """The Network's forward pass is the model's (BatchNorm folded with non-trivial statistics)."""
  model = _trained.make_model("small_cnn", batchnorm=batchnorm)
  x = _trained.digits()[2][:8]
  variables = model.init(jax.random.key(1), x)
  if batchnorm:  # running statistics away from (0, 1)
    variables = {**variables, "batch_stats": jax.tree.map(
        lambda s: s + 0.3 * jax.random.uniform(jax.random.key(2), s.shape),
        variables["batch_stats"])}
  net = certify.network_of(models.as_logits_fn(model, variables), x)
  chex.assert_trees_all_close(jax.vmap(net)(x), model.apply(variables, x), atol=1e-5)


def _in_ball(key, x, eps, norm, n):
  """n random points of the ball within [0, 1] around each x: [n, batch, ...]."""
  d = jax.random.uniform(key, (n,) + x.shape, minval=-eps, maxval=eps)
  if norm == "l2":
    d = jax.random.normal(key, (n,) + x.shape)
    d = d / jnp.sqrt((d ** 2).sum((2, 3, 4), keepdims=True)) * eps
    d = d * jax.random.uniform(jax.random.fold_in(key, 1), (n, x.shape[0], 1, 1, 1))
  return jnp.clip(x + d, 0.0, 1.0)


@functools.partial(jax.jit, static_argnames="norm")
def all_bounds(net, x, y, eps, norm):
  """{method: (logit lower, logit upper, margin lower, margin upper)}: one program per norm."""
  return {m: certify.logit_bounds(net, x, eps, norm=norm, method=m)
          + certify.margin_bounds(net, x, y, eps, norm=norm, method=m) for m in BOUND_METHODS}


# One CNN and one MLP case in the default tier (each compiles every method once).
SLOW = {("mlp", "linf"), ("small_cnn", "l2")}


@pytest.mark.parametrize("name,norm", [
    pytest.param(*c, marks=pytest.mark.slow) if c in SLOW else c for c in CASES])
def test_sound_and_crown_tighter_than_ibp(name, norm):
  """Logits and margins of random and PGD points of the ball lie within every method's
  bounds; on this (standard) trained model CROWN's margin lower bounds dominate IBP's and
  are strictly tighter on average, and CROWN-IBP's last layer improves on IBP's."""
  _, variables, logits_fn, x, y = setup(name)
  net = certify.network_of(logits_fn, x)
  eps = EPS[norm]
  pgd = PGD(eps=eps, step_size=eps / 4, steps=10, norm=norm)
  points = jnp.concatenate([_in_ball(jax.random.key(0), x, eps, norm, 32),
                            pgd(logits_fn, x, y, key=jax.random.key(1))[None]])
  z = jax.vmap(logits_fn)(points)  # [n, batch, classes]
  margins = jnp.take_along_axis(z, y[None, :, None], -1) - z
  bounds = all_bounds(net, x, y, eps, norm)
  for method, (low, up, mlow, mup) in bounds.items():
    assert bool(jnp.all(z >= low - 1e-4) & jnp.all(z <= up + 1e-4)), method
    assert bool(jnp.all(margins >= mlow - 1e-4) & jnp.all(margins <= mup + 1e-4)), method
    assert float((up - low).mean()) > 0  # not trivially exact: the test could fail
  low = {m: b[2] for m, b in bounds.items()}
  assert bool(jnp.all(low["crown"] >= low["ibp"] - 1e-4))
  assert float((low["crown"] - low["ibp"]).mean()) > 0.1
  assert float((low["crown_ibp"] - low["ibp"]).mean()) > 0


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_linear_model_bounds_are_exact(norm):
  """For a linear model and a ball inside [0, 1], every method's margin bounds equal the
  closed form y (w.x + b) -/+ eps ||w||_q of jaxrobust.theory.linear (Hoelder)."""
  model = models.make("linear", num_classes=2, mean=(0.3,), std=(0.4,))
  x = 0.2 + 0.6 * jax.random.uniform(jax.random.key(0), (16, 6, 6, 1))
  variables = model.init(jax.random.key(1), x)
  y = jnp.arange(16) % 2
  eps = 0.05 if norm == "linf" else 0.2  # 0.2 + L2 radius stays inside [0, 1]
  kernel, bias = variables["params"]["Dense_0"]["kernel"], variables["params"]["Dense_0"]["bias"]
  w = (kernel[:, 1] - kernel[:, 0]) / 0.4  # pixel-space weights of z_1 - z_0
  b = bias[1] - bias[0] - 0.3 * w.sum()
  flat, signed = x.reshape(16, -1), 2 * y - 1
  exact_low = theory.linear.adversarial_margin(w, b, flat, signed, eps, norm)
  exact_up = exact_low + 2 * eps * theory.linear.dual_norm(w, norm)
  net = certify.network(model, variables, x.shape[1:])
  for method, (_, _, low, up) in all_bounds(net, x, y, eps, norm).items():
    other = 1 - y
    np.testing.assert_allclose(low[jnp.arange(16), other], exact_low, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(up[jnp.arange(16), other], exact_up, rtol=1e-5, atol=1e-5)


def test_jit_vmap_and_curve():
  """jit equals eager; vmap over eps equals a loop; the curve is certified_accuracy per eps,
  non-increasing, and equal to clean accuracy at eps 0."""
  _, _, logits_fn, x, y = setup("mlp")
  net = certify.network_of(logits_fn, x)
  f = lambda e, m: certify.margin_lower(net, x[:8], y[:8], e, method=m)
  jf = jax.jit(f, static_argnums=1)
  chex.assert_trees_all_close(jf(0.02, "ibp"), f(0.02, "ibp"), atol=1e-5)  # eager is slow
  eps = jnp.array([0.0, 0.01, 0.03])
  chex.assert_trees_all_close(jax.jit(jax.vmap(lambda e: f(e, "crown_ibp")))(eps),
                              jnp.stack([jf(e, "crown_ibp") for e in eps]), atol=1e-5)
  curve = jax.jit(functools.partial(certify.certified_curve, method="crown_ibp", chunk=16))(
      net, x, y, eps)
  one = jax.jit(functools.partial(certify.certified_accuracy, method="crown_ibp"))
  each = [one(net, x, y, e) for e in eps]
  chex.assert_trees_all_close(curve, jnp.stack(each))
  assert bool(jnp.all(jnp.diff(curve) <= 0))
  clean = float((logits_fn(x).argmax(-1) == y).mean())
  assert abs(float(curve[0]) - clean) < 1e-6  # eps 0: certified = correct
  assert float(curve[-1]) < float(curve[0])


def test_bad_input():
  model, variables, logits_fn, x, y = setup("mlp")
  net = certify.network_of(logits_fn, x)
  with pytest.raises(ValueError, match="method"):
    certify.logit_bounds(net, x, 0.1, method="deeppoly")
  with pytest.raises(ValueError, match="norm"):
    certify.logit_bounds(net, x, 0.1, norm="l1")
  with pytest.raises(ValueError, match="eps"):
    certify.logit_bounds(net, x, -0.1)
  with pytest.raises(ValueError, match="shape"):
    certify.logit_bounds(net, x[:, :4], 0.1)
  with pytest.raises(TypeError, match="Network"):
    certify.logit_bounds(logits_fn, x, 0.1)
  with pytest.raises(TypeError, match="changed its input"):
    certify.network_of(lambda z: logits_fn(z * 1.0), x)
  resnet = models.make("preact_resnet18", num_classes=10, mean=(0.5,), std=(0.5,), width=2)
  with pytest.raises(TypeError, match="preact_resnet18"):
    certify.network(resnet, {"params": {}}, (8, 8, 1))
  sig = _trained.make_model("mlp", head="sigsoftmax")
  with pytest.raises(ValueError, match="identity head"):
    certify.network(sig, variables, (8, 8, 1))
