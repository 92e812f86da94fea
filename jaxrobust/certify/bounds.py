"""Provable bounds of logits and margins over an Linf or L2 ball within the input box.

For x [batch, *input_shape] in [0, 1], eps >= 0 and the set
S(x) = {x' : ||x' - x|| <= eps} intersected with [0, 1]^d, every function returns
bounds that hold for every x' in S(x):

  logit_bounds:  lower <= logits(x') <= upper,              [batch, classes] each
  margin_bounds: lower <= z_y(x') - z_j(x') <= upper,       [batch, classes] each
                 (the entry j = y is exactly 0).

Methods: "ibp" (interval bound propagation), "crown" (backward linear
relaxation at every layer), "crown_ibp" (IBP for the intermediate layers,
CROWN for the last), "alpha_crown" (CROWN with the ReLU lower slopes of the last
backward pass optimised by projected Adam, Xu et al. 2021; never looser than CROWN). All are pure JAX: jit them, vmap them over eps; norm and
method are static. eps may be a traced scalar.

What was chosen: the bound walk reads a `Network` (our layers in order, see
`network.py`), not a jaxpr. Linear layers are transposed with
`jax.linear_transpose` (a conv's adjoint is a transposed conv), so only the
[S, *layer shape] coefficients exist, never a layer's matrix. CROWN's
intermediate bounds use S = 2 x (neurons of the layer) rows and are
intersected with IBP's, as auto_LiRPA and bound-propagation do: memory and time
grow with the square of the layer widths, fine for small networks; CROWN-IBP
needs only S = classes. The ReLU lower slope is CROWN's adaptive one. With the
L2 norm, IBP starts from the box around the ball (looser than CROWN, which
concretizes over the ball and the box).

References:
  Gowal et al., "On the Effectiveness of Interval Bound Propagation for
  Training Verifiably Robust Models", arXiv:1810.12715, 2018 (IBP, Eq. 6);
  Zhang et al., "Efficient Neural Network Robustness Certification with
  General Activation Functions", NeurIPS 2018 (CROWN, Thm. 3.2);
  Zhang et al., "Towards Stable and Efficient Training of Verifiably Robust
  Neural Networks", ICLR 2020 (CROWN-IBP, Sec. 3); Xu et al., "Fast and Complete",
  ICLR 2021 (alpha-CROWN, Sec. 3.1).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrobust import _checks
from jaxrobust.certify import _walk
from jaxrobust.certify.network import Network

NORMS = ("linf", "l2")
# The methods `_walk` implements; `certify.BOUND_METHODS` (registry.py) names each.
METHOD_NAMES = ("ibp", "crown", "crown_ibp", "alpha_crown")


def check_inputs(net: Network, x, eps, norm: str, method: str) -> None:
  """The shared argument checks (static where possible)."""
  if not isinstance(net, Network):
    raise TypeError(f"net must be a jaxrobust.certify.Network (from certify.network(model, "
                    f"variables, input_shape) or certify.network_of(logits_fn, x)), got "
                    f"{type(net).__name__}.")
  _checks.check_choice("norm", norm, NORMS)
  _checks.check_choice("method", method, METHOD_NAMES)
  if tuple(jnp.shape(x)[1:]) != tuple(net.input_shape) or jnp.ndim(x) != len(net.input_shape) + 1:
    raise ValueError(f"x must have shape [batch, {', '.join(map(str, net.input_shape))}], "
                     f"got {tuple(jnp.shape(x))}.")
  _checks.check_number("eps", eps, low=0)
  arr = _checks.concrete_value(x)
  if arr is not None and arr.size and (arr.min() < 0 or arr.max() > 1):
    # The ball is intersected with [0, 1]^d: a point outside it has no ball in the box,
    # and its bounds would not hold at the point itself.
    raise ValueError(f"x must lie in the input box [0, 1], got values in "
                     f"[{arr.min():.4g}, {arr.max():.4g}].")


def _classes(net: Network) -> int:
  if not isinstance(net, Network):
    check_inputs(net, None, 0.0, "linf", "ibp")  # the TypeError naming what net must be
  return net.shapes()[-1][0]


def margin_specs(y, num_classes: int):
  """Rows e_y - e_j for every class j: [batch, classes, classes] (row y is zero)."""
  _checks.check_int_at_least("num_classes", num_classes, 2)
  _checks.check_labels("y", y, num_classes)
  eye = jnp.eye(num_classes)
  return eye[y][:, None, :] - eye[None]


def spec_lower(net: Network, x, eps, spec, *, norm: str = "linf", method: str = "crown"):
  """Lower bounds [batch, S] of spec[b] @ logits(x') over x' in S(x[b]).

  spec: [batch, S, classes] (or [S, classes] shared by all examples).
  """
  check_inputs(net, x, eps, norm, method)
  spec = jnp.asarray(spec, x.dtype)
  if spec.ndim == 2:
    spec = jnp.broadcast_to(spec, (x.shape[0],) + spec.shape)
  c = _classes(net)
  if spec.ndim != 3 or spec.shape[0] != x.shape[0] or spec.shape[2] != c:
    raise ValueError(f"spec must be [batch, S, {c}] (or [S, {c}]) for x of batch "
                     f"{x.shape[0]}, got shape {spec.shape}.")
  return jax.vmap(lambda xi, si: _walk.spec_lower(net, xi, eps, si, norm, method))(x, spec)


def logit_bounds(net: Network, x, eps, *, norm: str = "linf", method: str = "crown"):
  """(lower, upper) of the logits over S(x), each [batch, classes]."""
  c = _classes(net)
  eye = jnp.eye(c, dtype=x.dtype)
  low = spec_lower(net, x, eps, jnp.concatenate([eye, -eye]), norm=norm, method=method)
  return low[:, :c], -low[:, c:]


def margin_lower(net: Network, x, y, eps, *, norm: str = "linf", method: str = "crown"):
  """Lower bounds [batch, classes] of z_y - z_j over S(x); 0 at j = y.

  x is certified at eps when every entry j != y is > 0 (`certified`).
  """
  c = _classes(net)
  _checks.check_labels("y", y, c)
  return spec_lower(net, x, eps, margin_specs(y, c), norm=norm, method=method)


def margin_bounds(net: Network, x, y, eps, *, norm: str = "linf", method: str = "crown"):
  """(lower, upper) of the margins z_y - z_j over S(x), each [batch, classes]; 0 at j = y."""
  c = _classes(net)
  _checks.check_labels("y", y, c)
  spec = margin_specs(y, c)
  low = spec_lower(net, x, eps, jnp.concatenate([spec, -spec], 1), norm=norm, method=method)
  return low[:, :c], -low[:, c:]


def certified(margin_low, y):
  """Per-example certificate [batch] (bool): every margin lower bound j != y is > 0."""
  _checks.check_logits("margin_low", margin_low)
  c = margin_low.shape[-1]
  _checks.check_labels("y", y, c, batch=margin_low.shape[0])
  others = jnp.arange(c)[None] != jnp.asarray(y)[:, None]
  return jnp.all(jnp.where(others, margin_low > 0, True), axis=-1)
