"""Reference parity: our IBP, CROWN and CROWN-IBP bounds against bound-propagation 0.4.7.

bound-propagation (torch + numpy only; its adaptive ReLU is auto_LiRPA's
"adaptive" lower slope) bounds torch nn.Sequential MLPs over a box. Its twin of
our MLP folds the input normalization into the first Linear layer (an affine
map before the first ReLU: the bounds of every method are unchanged), and, for
the margins z_k - z_j, the spec into the last layer (our IBP also elides the
last layer, Gowal et al.). It has no convolution, so the CNN's bounds are
checked by the cross-checks in tests/certify only.
"""

import os

import numpy as np
import optax
import pytest

try:
  import bound_propagation as bp
  import torch
except ImportError as e:  # pragma: no cover
  if os.environ.get("CI"):
    raise ImportError("CI must install bound-propagation==0.4.7 (--no-deps) and torch") from e
  pytest.skip(f"bound-propagation not installed ({e}); pip install --no-deps "
              "bound-propagation==0.4.7", allow_module_level=True)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from bench.certify import torch_twin  # noqa: E402
from jaxrobust import certify  # noqa: E402
from tests.certify import _trained  # noqa: E402

K = 3  # the class of the margins z_K - z_j


def _twin(variables, mean, std, spec=None):
  """bench.certify's torch twin of the MLP (normalization and spec folded in)."""
  return torch_twin(variables, mean, std, torch, bp, spec)


@pytest.mark.parametrize("eps", [pytest.param(0.02, marks=pytest.mark.slow), 0.08])
@torch.no_grad()
def test_bounds_match_bound_propagation(eps):
  model, variables = _trained.trained("mlp")
  _, _, x, y = _trained.digits()
  x = x[:64]
  mean, std = float(model.mean[0]), float(model.std[0])
  net = certify.network(model, variables, x.shape[1:])
  lo, hi = (np.asarray(a.reshape(64, -1)) for a in certify._walk.input_box(x, eps))
  region = bp.HyperRectangle(torch.tensor(lo), torch.tensor(hi))
  spec = np.asarray(certify.margin_specs(jnp.array([K]), 10)[0], np.float64)
  logits_twin, margin_twin = _twin(variables, mean, std), _twin(variables, mean, std, spec)
  ours_margins = {}
  for method, call in (("ibp", "ibp"), ("crown", "crown"), ("crown_ibp", "crown_ibp")):
    low, up = jax.jit(certify.logit_bounds, static_argnames="method")(net, x, eps,
                                                                      method=method)
    ref = getattr(logits_twin, call)(region)
    if method != "ibp":
      ref = ref.concretize()
    np.testing.assert_allclose(low, ref.lower.detach().numpy(), rtol=1e-4, atol=2e-4, err_msg=method)
    np.testing.assert_allclose(up, ref.upper.detach().numpy(), rtol=1e-4, atol=2e-4, err_msg=method)
    m_low = jax.jit(certify.margin_lower, static_argnames="method")(
        net, x, jnp.full((64,), K), eps, method=method)
    ref = getattr(margin_twin, call)(region)
    ref = ref if method == "ibp" else ref.concretize()
    np.testing.assert_allclose(m_low, ref.lower.detach().numpy(), rtol=1e-4, atol=2e-4, err_msg=method)
    ours_margins[method] = m_low
  # The comparison is not vacuous: the methods differ on these points.
  assert float(jnp.abs(ours_margins["crown"] - ours_margins["ibp"]).mean()) > 1e-2


@torch.no_grad()
def test_alpha_crown_matches_bound_propagation(monkeypatch):
  """alpha-CROWN with bound-propagation's start and optimiser gives its bounds (ours is
  then the elementwise max with CROWN, never looser); with ours (CROWN's adaptive slopes,
  lr 0.1) it is tighter than both."""
  monkeypatch.setattr(certify._walk, "ALPHA_INIT", "chord")
  monkeypatch.setattr(certify._walk, "ALPHA_OPTIMIZER", optax.adam(1e-2, b1=0.5, b2=0.99))
  jax.clear_caches()
  model, variables = _trained.trained("mlp")
  _, _, x, y = _trained.digits()
  x, eps = x[:32], 0.08
  mean, std = float(model.mean[0]), float(model.std[0])
  net = certify.network(model, variables, x.shape[1:])
  lo, hi = (np.asarray(a.reshape(32, -1)) for a in certify._walk.input_box(x, eps))
  region = bp.HyperRectangle(torch.tensor(lo), torch.tensor(hi))
  twin = _twin(variables, mean, std)
  with torch.enable_grad():
    alpha = twin.crown(region, alpha=True).concretize()
  crown = twin.crown(region).concretize()
  low, up = jax.jit(certify.logit_bounds, static_argnames="method")(
      net, x, eps, method="alpha_crown")
  want_low = np.maximum(alpha.lower.detach().numpy(), crown.lower.numpy())
  want_up = np.minimum(alpha.upper.detach().numpy(), crown.upper.numpy())
  np.testing.assert_allclose(low, want_low, rtol=1e-4, atol=2e-4)
  np.testing.assert_allclose(up, want_up, rtol=1e-4, atol=2e-4)
  monkeypatch.undo()
  jax.clear_caches()  # the settings are read when the bound is traced
  low, up = jax.jit(certify.logit_bounds, static_argnames="method")(
      net, x, eps, method="alpha_crown")
  width = {"crown": crown.upper.numpy() - crown.lower.numpy(), "ours": np.asarray(up - low),
           "bound-propagation": want_up - want_low}
  print({k: float(v.mean()) for k, v in width.items()})
  assert np.all(width["ours"] <= width["crown"] + 1e-4)
  assert width["ours"].mean() < min(width["crown"].mean(), width["bound-propagation"].mean())
