"""Certified accuracy beside the attacks: a lower bound under the attacks' upper bounds.

For each bound method, the fraction of test points whose every margin lower
bound is > 0 at eps (`jaxrobust.certify`), and the time it took; then the
check that clean >= worst-case attack accuracy >= certified accuracy, which a
sound certificate and a sound attack must satisfy. `smoothing_report` gives
randomized smoothing's certificates (L2, with probability 1 - alpha) under the
same keys, with its certified-accuracy curve over radii.

References:
  Gowal et al., "On the Effectiveness of Interval Bound Propagation for
  Training Verifiably Robust Models", 2018; Zhang et al., CROWN (NeurIPS 2018);
  Cohen, Rosenfeld & Kolter, "Certified Adversarial Robustness via Randomized
  Smoothing", ICML 2019 (the certified-accuracy curve, Fig. 1).
"""

from __future__ import annotations

import functools
import time
from typing import Any, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import _checks, certify
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
      raise ValueError(f"Unknown certification method {m!r}; "
                       f"valid: {certify.BOUND_METHODS.names()}.")
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


def smoothing_report(logits_fn, images: np.ndarray, labels: np.ndarray, *, sigma: float,
                     eps: float, key: jax.Array, radii: Sequence[float] = (), n0: int = 100,
                     n: int = 10_000, alpha: float = 0.001, batch_size: int = 128,
                     name: str = "smoothing") -> dict[str, Any]:
  """Randomized smoothing's L2 certificates (CERTIFY) on images uint8 [n, h, w, c], labels [n].

  Returns the keys of `certified_report` under method `name` (certified at
  radius eps: correct with radius >= eps), plus "curve": {"eps": radii, name:
  certified accuracy at each radius} (the format of the experiments' curves),
  "abstained": the fraction abstained, and "radius": per-example radii.
  """
  x, y = to_float(jnp.asarray(images)), np.asarray(labels)
  _checks.check_number("eps", eps, low=0)
  tic = time.perf_counter()
  cert = certify.smoothed_certify(logits_fn, x, sigma=sigma, n0=n0, n=n, alpha=alpha, key=key,
                                  batch_size=batch_size)
  seconds = time.perf_counter() - tic  # compilation included: the sampler's is small
  mask = (cert.prediction == y) & (cert.radius >= eps)
  return {"certified_accuracy": {name: float(mask.mean())}, "certified_time_s": {name: seconds},
          "certified": {name: mask.tolist()},
          "curve": {"eps": [float(r) for r in radii],
                    name: certify.smoothed_curve(cert, y, radii).tolist()},
          "abstained": float(np.mean(cert.prediction == certify.ABSTAIN)),
          "radius": cert.radius.tolist()}


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
