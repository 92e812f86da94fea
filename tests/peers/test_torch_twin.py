"""The torch twin of SmallCNN computes the same function as the Flax model."""

from tests.peers import require_peers

require_peers()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from jaxrobust import models  # noqa: E402
from jaxrobust.losses import cross_entropy  # noqa: E402
from tests.peers.torch_models import nchw_to_nhwc, nhwc_to_nchw, same_padding, to_torch  # noqa: E402


def _input_grads(logits_fn, torch_model, x, y):
  """CE-sum input gradients of both models, in NHWC numpy."""
  g_jax = jax.grad(lambda z: jnp.sum(cross_entropy(logits_fn(z), y)))(x)
  xt = nhwc_to_nchw(x).requires_grad_(True)
  loss = F.cross_entropy(torch_model(xt), torch.from_numpy(np.array(y)).long(), reduction="sum")
  (g_torch,) = torch.autograd.grad(loss, xt)
  return np.asarray(g_jax), nchw_to_nhwc(g_torch)


def _logits(torch_model, x):
  with torch.no_grad():
    return torch_model(nhwc_to_nchw(x)).numpy()


def test_layout_helpers_round_trip():
  x = np.random.default_rng(0).random((2, 5, 4, 3), dtype=np.float32)
  t = nhwc_to_nchw(x)
  assert tuple(t.shape) == (2, 3, 5, 4)
  np.testing.assert_array_equal(nchw_to_nhwc(t), x)


def test_same_padding_matches_xla():
  """Flax SAME, stride 2: extra pixel on the high side (28 -> (0, 1), 7 -> (1, 1))."""
  assert same_padding(28, 3, 2) == (0, 1)
  assert same_padding(14, 3, 2) == (0, 1)
  assert same_padding(7, 3, 2) == (1, 1)
  assert same_padding(28, 5, 2) == (1, 2)


@pytest.mark.parametrize("options", [
    {}, {"kernel_size": 5, "features": (8, 16), "hidden": 32}, {"batchnorm": True},
], ids=["default", "k5", "batchnorm"])
def test_random_weights_agree(options):
  """Random init (asymmetric padding, HWIO->OIHW, NHWC->NCHW dense rows) on random inputs."""
  model = models.make("small_cnn", num_classes=10, mean=(0.13,), std=(0.31,), **options)
  x = jax.random.uniform(jax.random.key(1), (16, 28, 28, 1))
  y = jax.random.randint(jax.random.key(2), (16,), 0, 10)
  variables = model.init(jax.random.key(0), x[:1])
  if options.get("batchnorm"):  # non-trivial running statistics and affine parameters
    leaves, treedef = jax.tree.flatten(variables)
    keys = jax.random.split(jax.random.key(3), len(leaves))
    variables = jax.tree.unflatten(treedef, [
        l + 0.1 * jnp.abs(jax.random.normal(k, l.shape)) if l.ndim == 1 else l
        for l, k in zip(leaves, keys)])
  logits_fn = models.as_logits_fn(model, variables)
  twin = to_torch(model, variables)
  np.testing.assert_allclose(_logits(twin, x), np.asarray(logits_fn(x)), atol=1e-4, rtol=0)
  g_jax, g_torch = _input_grads(logits_fn, twin, x, y)
  np.testing.assert_allclose(g_torch, g_jax, atol=1e-4, rtol=0)
  assert np.abs(g_jax).max() > 1e-3  # the comparison is not between two zeros


def test_trained_model_agrees(peer_setup):
  """The trained fixture: logits and CE input gradients agree to 1e-4 on 256 test images."""
  _, _, logits_fn, twin, x, y = peer_setup
  z_jax = np.asarray(logits_fn(x))
  z_torch = _logits(twin, x)
  np.testing.assert_allclose(z_torch, z_jax, atol=1e-4, rtol=0)
  assert (z_jax.argmax(-1) == np.asarray(y)).mean() > 0.9  # it is the trained model
  g_jax, g_torch = _input_grads(logits_fn, twin, x, y)
  np.testing.assert_allclose(g_torch, g_jax, atol=1e-4, rtol=0)
  assert np.abs(g_jax).max() > 1e-2


def test_wrong_conversion_would_be_caught(peer_setup):
  """Symmetric padding (torch's padding=1) changes the logits: the test above can fail."""
  model, variables, logits_fn, twin, x, _ = peer_setup
  conv = twin.convs[0]
  with torch.no_grad():
    h = F.relu(F.conv2d((nhwc_to_nchw(x[:8]) - twin.mean) / twin.std, conv.weight, conv.bias,
                        stride=2, padding=1))
    for c in twin.convs[1:]:
      h = F.relu(F.conv2d(h, c.weight, c.bias, stride=2, padding=1))
    wrong = twin.fc2(F.relu(twin.fc1(h.flatten(1)))).numpy()
  assert np.abs(wrong - np.asarray(logits_fn(x[:8]))).max() > 1e-2
