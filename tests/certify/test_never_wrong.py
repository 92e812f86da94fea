"""certify refuses what it cannot vouch for: unknown classes, foreign variables (issue 35)."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest

from jaxrobust import certify, models
from jaxrobust.models.simple import MLP
from tests.certify import _trained


class TanhMLP(MLP):
  """An MLP subclass with tanh: the ReLU walk would give it wrong bounds."""

  @nn.compact
  def __call__(self, x, train: bool = False):
    x = (x - jnp.asarray(self.mean)) / jnp.asarray(self.std)
    x = x.reshape(x.shape[0], -1)
    for width in self.hidden:
      x = jnp.tanh(nn.Dense(width)(x))
    return nn.Dense(self.num_classes)(x)


def _x():
  return _trained.digits()[2][:4]


def test_subclass_refused():
  base = _trained.make_model("mlp")
  model = TanhMLP(num_classes=10, mean=base.mean, std=base.std, hidden=(8,))
  variables = model.init(jax.random.key(0), _x())
  with pytest.raises(TypeError, match="TanhMLP.*exactly Linear, MLP and SmallCNN"):
    certify.network(model, variables, (8, 8, 1))
  with pytest.raises(TypeError, match="TanhMLP"):
    certify.network_of(models.as_logits_fn(model, variables), _x())


def test_deeper_variables_refused():
  shallow = _trained.make_model("mlp", hidden=(8,))
  deeper = _trained.make_model("mlp", hidden=(8, 8))
  variables = deeper.init(jax.random.key(0), _x())
  with pytest.raises(ValueError, match="variables do not match the MLP"):
    certify.network(shallow, variables, (8, 8, 1))
  wider = _trained.make_model("mlp", hidden=(9,)).init(jax.random.key(0), _x())
  with pytest.raises(ValueError, match="shapes"):
    certify.network(shallow, wider, (8, 8, 1))
  net = certify.network(shallow, shallow.init(jax.random.key(0), _x()), (8, 8, 1))
  assert len(net.ops) == 5  # normalize, flatten, dense, relu, dense


@pytest.mark.parametrize("wrap", ["scale", "permute", "negate", "softmax", "extra_layer"])
def test_output_maps_refused(wrap):
  """A logits_fn that maps the model's logits is refused by network_of, naming why."""
  model = _trained.make_model("mlp", hidden=(8,))
  variables = model.init(jax.random.key(0), _x())
  f = models.as_logits_fn(model, variables)
  w = jax.random.normal(jax.random.key(3), (10, 10))
  fn = {"scale": lambda z: f(z) / 0.1 + 3, "permute": lambda z: f(z)[:, ::-1],
        "negate": lambda z: -f(z), "softmax": lambda z: jax.nn.softmax(f(z)),
        "extra_layer": lambda z: jax.nn.relu(f(z)) @ w}[wrap]
  with pytest.raises(ValueError, match="not the walked MLP's output.*max difference"):
    certify.network_of(fn, _x())
  assert certify.network_of(f, _x()).input_shape == (8, 8, 1)  # the bare model passes


def test_inputs_outside_box_refused():
  model = _trained.make_model("mlp", hidden=(8,))
  net = certify.network(model, model.init(jax.random.key(0), _x()), (8, 8, 1))
  y = jnp.zeros(4, jnp.int32)
  for bad in (_x() * 3.0, _x() - 0.5):
    with pytest.raises(ValueError, match=r"x must lie in the input box \[0, 1\]"):
      certify.margin_lower(net, bad, y, 0.1)
  assert certify.margin_lower(net, _x(), y, 0.1).shape == (4, 10)
