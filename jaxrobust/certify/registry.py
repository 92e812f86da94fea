"""Bound methods by name: `BOUND_METHODS.make("crown")` is a `BoundMethod`, the bounds of
`bounds.py` with that method fixed (one line per method; the walk itself is `_walk.py`).

Methods: "ibp" (Gowal et al. 2018), "crown" (Zhang et al. 2018), "crown_ibp" (Zhang et
al. 2020), "alpha_crown" (Xu et al. 2021); see `bounds.py` for what each bounds.
tests/certify/test_conformance.py checks every name is sound on a tiny network.
"""

from __future__ import annotations

import dataclasses

from jaxrobust import _checks
from jaxrobust.certify import bounds
from jaxrobust.certify.network import Network
from jaxrobust.registry import Registry


@dataclasses.dataclass(frozen=True)
class BoundMethod:
  """Provable bounds over S(x) (Linf or L2 ball within [0, 1]^d) by one method.

  Every call takes net (a `Network`), x [batch, *input_shape] in [0, 1], eps >= 0 and
  returns what the `bounds` function of the same name returns with method=self.method.
  """
  method: str

  def __post_init__(self):
    _checks.check_choice("method", self.method, bounds.METHOD_NAMES)

  def logit_bounds(self, net: Network, x, eps, *, norm: str = "linf"):
    """(lower, upper) of the logits, each [batch, classes]."""
    return bounds.logit_bounds(net, x, eps, norm=norm, method=self.method)

  def margin_bounds(self, net: Network, x, y, eps, *, norm: str = "linf"):
    """(lower, upper) of the margins z_y - z_j, each [batch, classes]; 0 at j = y."""
    return bounds.margin_bounds(net, x, y, eps, norm=norm, method=self.method)

  def margin_lower(self, net: Network, x, y, eps, *, norm: str = "linf"):
    """Lower bounds [batch, classes] of z_y - z_j; 0 at j = y."""
    return bounds.margin_lower(net, x, y, eps, norm=norm, method=self.method)

  def spec_lower(self, net: Network, x, eps, spec, *, norm: str = "linf"):
    """Lower bounds [batch, S] of spec @ logits; spec [batch, S, classes] or [S, classes]."""
    return bounds.spec_lower(net, x, eps, spec, norm=norm, method=self.method)


BOUND_METHODS = Registry("bound method")
BOUND_METHODS.register("ibp", BoundMethod, method="ibp")
BOUND_METHODS.register("crown", BoundMethod, method="crown")
BOUND_METHODS.register("crown_ibp", BoundMethod, method="crown_ibp")
BOUND_METHODS.register("alpha_crown", BoundMethod, method="alpha_crown")
