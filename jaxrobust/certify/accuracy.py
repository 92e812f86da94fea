"""Certified accuracy at eps and the certified robustness curve over eps, in one call.

A point counts when every margin lower bound z_y - z_j (j != y) over the ball
is > 0: the model is provably correct on the whole set, so certified accuracy
is a lower bound of robust accuracy (an attack's accuracy is an upper bound).

References:
  Gowal et al., "On the Effectiveness of Interval Bound Propagation for
  Training Verifiably Robust Models", 2018 (verified accuracy, Sec. 4).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrobust import _checks
from jaxrobust.certify import _walk
from jaxrobust.certify.bounds import certified, check_inputs, margin_specs
from jaxrobust.certify.network import Network


def certified_mask(net: Network, x, y, eps, *, norm: str = "linf", method: str = "crown",
                   chunk: int | None = None):
  """Per-example certificates [batch] (bool) at eps.

  chunk: examples bounded at a time (`lax.map` batches); CROWN's memory grows
  with it, so use a small chunk for convolutional networks. None: all at once.
  """
  check_inputs(net, x, eps, norm, method)
  c = net.shapes()[-1][0]
  _checks.check_labels("y", y, c)
  if chunk is not None:
    _checks.check_int_at_least("chunk", chunk, 1)
  specs = margin_specs(y, c)
  low = jax.lax.map(lambda a: _walk.spec_lower(net, a[0], eps, a[1], norm, method),
                    (x, specs), batch_size=chunk or x.shape[0])
  return certified(low, y)


def certified_accuracy(net: Network, x, y, eps, *, norm: str = "linf", method: str = "crown",
                       chunk: int | None = None):
  """Fraction (scalar) of examples certified at eps."""
  return jnp.mean(certified_mask(net, x, y, eps, norm=norm, method=method,
                                 chunk=chunk).astype(jnp.float32))


def certified_curve(net: Network, x, y, eps_values, *, norm: str = "linf",
                    method: str = "crown", chunk: int | None = None):
  """Certified accuracy at each eps: eps_values [n] -> [n], one compiled call
  (`lax.map` over eps, each a batched certificate)."""
  eps_values = jnp.asarray(eps_values, jnp.float32)
  if eps_values.ndim != 1 or eps_values.shape[0] < 1:
    raise ValueError(f"eps_values must be a 1-D sequence of radii, got shape "
                     f"{tuple(eps_values.shape)}.")
  _checks.check_number("eps_values", eps_values, low=0)
  return jax.lax.map(lambda e: certified_accuracy(net, x, y, e, norm=norm, method=method,
                                                  chunk=chunk), eps_values)
