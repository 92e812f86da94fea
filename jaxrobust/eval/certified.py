"""Certified accuracy beside the attacks: a lower bound under the attacks' upper bounds.

For each bound method, the fraction of test points whose every margin lower
bound is > 0 at eps (`jaxrobust.certify`), and the time it took; then the
check that clean >= worst-case attack accuracy >= certified accuracy, which a
sound certificate and a sound attack must satisfy.

References:
  Gowal et al., "On the Effectiveness of Interval Bound Propagation for
  Training Verifiably Robust Models", 2018; Zhang et al., CROWN (NeurIPS 2018).
"""

from __future__ import annotations

import functools
import time
from typing import Any, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import certify
from jaxrobust.data import to_float


@functools.partial(jax.jit, static_argnames=("norm", "method", "chunk"))
def _mask(net, x, y, eps, norm, method, chunk):
  return certify.certified_mask(net, x, y, eps, norm=norm, method=method, chunk=chunk)


def certified_report(model, variables: Any, images: np.ndarray, labels: np.ndarray, *,
                     eps: float, norm: str = "linf", methods: Sequence[str] = ("ibp", "crown"),
                     batch_size: int = 100, chunk: int | None = 16) -> dict[str, Any]:
  """Certified accuracy per method on images uint8 [n, h, w, c], labels [n].

  Returns {"certified_accuracy": {method: acc}, "certified_time_s": {method: seconds of
  bound computation, compilation excluded}, "certified": {method: per-example bool list}}.
  """
  for m in methods:
    if m not in certify.BOUND_METHODS:
      raise ValueError(f"Unknown certification method {m!r}; valid: {certify.BOUND_METHODS}.")
  x_all, y_all = to_float(jnp.asarray(images)), jnp.asarray(labels)
  net = certify.network(model, variables, tuple(x_all.shape[1:]))
  out = {"certified_accuracy": {}, "certified_time_s": {}, "certified": {}}
  starts = range(0, len(y_all), batch_size)
  for m in methods:
    # The time is the bound computation's, not its compilation's: compiled ahead
    # for every batch shape (a ragged last batch has its own).
    compiled = {}
    for i in starts:
      n = min(batch_size, len(y_all) - i)
      if n not in compiled:
        compiled[n] = _mask.lower(net, x_all[i:i + n], y_all[i:i + n], eps, norm=norm,
                                  method=m, chunk=chunk).compile()
    tic = time.perf_counter()
    masks = [np.asarray(compiled[min(batch_size, len(y_all) - i)](
        net, x_all[i:i + batch_size], y_all[i:i + batch_size], eps)) for i in starts]
    mask = np.concatenate(masks)
    out["certified_time_s"][m] = time.perf_counter() - tic
    out["certified_accuracy"][m] = float(mask.mean())
    out["certified"][m] = mask.tolist()
  return out


def order_warnings(report: Mapping[str, Any]) -> list[str]:
  """Violations of clean >= worst-case attack accuracy >= certified accuracy."""
  warnings = []
  clean = report.get("clean_accuracy")
  worst = report.get("worst_case_accuracy", clean)
  for m, acc in report.get("certified_accuracy", {}).items():
    if worst is not None and acc > worst + 1e-9:
      warnings.append(f"certified accuracy ({m}) {acc:.4f} exceeds the attacks' worst case "
                      f"{worst:.4f}: an unsound certificate or a mismatched threat model.")
  return warnings
