"""Rank correlation of measures with the robust generalization gap, on the host.

kendall_tau: Kendall's tau-b (ties counted as scipy.stats.kendalltau does) or, with
variant="a", tau-a = (concordant - discordant) / (n (n - 1) / 2), the coefficient
Jiang et al. 2020 define (Eq. 4: the sum over pairs of sign products over the pair
count; ties count 0 in the numerator and stay in the denominator).
granulated_kendall: Jiang et al.'s granulated coefficient: for each hyperparameter
axis i, psi_i = the mean over every setting of the other axes of tau(measure, gap)
among the models where only axis i varies; Psi = the mean of the psi_i. Its
default is Jiang et al.'s convention: tau-a, and a group whose measure or gap is
constant counts tau = 0 (tau-a gives exactly that: no pair is concordant or
discordant), for either variant.

References: Kendall, "A New Measure of Rank Correlation", Biometrika 1938 (tau-b:
Kendall 1945); Jiang, Neyshabur, Mobahi, Krishnan, Bengio, "Fantastic Generalization
Measures and Where to Find Them", ICLR 2020, Sec. 4 (Eq. 4-5); Kim et al., NeurIPS 2023.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from jaxrobust import _checks


def _vector(name: str, values) -> np.ndarray:
  arr = np.asarray(values, dtype=np.float64)
  if arr.ndim != 1:
    raise ValueError(f"{name} must be one value per model [n], got shape {arr.shape}.")
  return arr


VARIANTS = ("a", "b")


def kendall_tau(a, b, variant: str = "b") -> float:
  """Kendall's tau of two equal-length vectors [n]; n >= 2; NaN when either holds a
  NaN (scipy's nan_policy="propagate").

  variant "b": tau_b = (concordant - discordant) / sqrt((n0 - t_a) (n0 - t_b)),
  n0 = n (n - 1) / 2, t_a, t_b the pairs tied in a, in b (scipy.stats.kendalltau);
  NaN when either vector is constant.
  variant "a": tau_a = (concordant - discordant) / n0 (Jiang et al. 2020, Eq. 4);
  0 when either vector is constant.
  O(n^2) work, O(1024 n) memory (blocks of rows).
  """
  _checks.check_choice("variant", variant, VARIANTS)
  a, b = _vector("a", a), _vector("b", b)
  if a.shape != b.shape:
    raise ValueError(f"a and b must have one length (one value per model), got "
                     f"{a.shape[0]} and {b.shape[0]}.")
  n = a.shape[0]
  if n < 2:
    raise ValueError(f"Kendall's tau needs at least 2 models, got {n}.")
  if np.isnan(a).any() or np.isnan(b).any():
    return math.nan
  s = tied_a = tied_b = 0
  for start in range(0, n, 1024):  # rows i in a block against all j > i
    i = np.arange(start, min(start + 1024, n))[:, None]
    j = np.arange(n)[None, :]
    upper = j > i
    da = np.sign(a[i] - a[None, :])
    db = np.sign(b[i] - b[None, :])
    s += int(np.sum(da * db * upper))
    tied_a += int(np.sum((da == 0) & upper))
    tied_b += int(np.sum((db == 0) & upper))
  n0 = n * (n - 1) // 2
  if variant == "a":
    return s / n0
  denom = math.sqrt(float(n0 - tied_a) * float(n0 - tied_b))
  return s / denom if denom > 0 else math.nan


def check_axes(hparams: Mapping[str, Sequence], n: int) -> dict[str, np.ndarray]:
  """Each axis one value per model ([n]); at least one axis."""
  if not hparams:
    raise ValueError("hparams must name at least one hyperparameter axis, got none.")
  out = {}
  for axis, values in hparams.items():
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != n:
      raise ValueError(f"hyperparameter axis {axis!r} must hold one value per model "
                       f"({n}), got shape {arr.shape}.")
    out[axis] = arr
  return out


def granulated_kendall(measure, gap, hparams: Mapping[str, Sequence],
                       axes: Sequence[str] | None = None,
                       variant: str = "a") -> dict[str, float]:
  """Jiang et al.'s granulated Kendall coefficient of a measure against the gap.

  Args:
    measure, gap: one value per model, [n].
    hparams: {axis: values [n]}: every model's setting of every hyperparameter
      (including ones not granulated over, e.g. the seed, which then only split groups).
    axes: the axes to granulate over (default: all of hparams).
    variant: "a" (default, Jiang et al.'s tau-a) or "b" (tau-b), as `kendall_tau`.

  Returns:
    {axis: psi_axis} for each axis and "mean": their mean (Psi). A group (setting of
    the other axes) with a constant measure or gap counts tau = 0, as in Jiang et
    al. (it cannot rank, so it neither agrees nor disagrees); a group with fewer than
    2 models is left out; an axis with no such group is NaN, and so is a group, axis
    and Psi where the measure or gap holds a NaN.
  """
  _checks.check_choice("variant", variant, VARIANTS)
  measure, gap = _vector("measure", measure), _vector("gap", gap)
  n = measure.shape[0]
  if gap.shape[0] != n:
    raise ValueError(f"measure and gap must have one length (one value per model), got "
                     f"{n} and {gap.shape[0]}.")
  if n < 2:
    raise ValueError(f"granulated Kendall needs at least 2 models, got {n}.")
  hp = check_axes(hparams, n)
  axes = list(hp) if axes is None else list(axes)
  if not axes:
    raise ValueError("axes must name at least one axis.")
  for axis in axes:
    if axis not in hp:
      raise ValueError(f"Unknown axis {axis!r}; valid choices: {tuple(hp)}.")
  out = {}
  for axis in axes:
    others = [k for k in hp if k != axis]
    groups: dict[tuple, list[int]] = {}
    for i in range(n):
      groups.setdefault(tuple(hp[k][i].item() for k in others), []).append(i)
    taus = [_group_tau(measure[idx], gap[idx], variant)
            for idx in groups.values() if len(idx) >= 2]
    out[axis] = float(np.mean(taus)) if taus else math.nan
  out["mean"] = float(np.mean([out[a] for a in axes]))
  return out


def _group_tau(measure: np.ndarray, gap: np.ndarray, variant: str) -> float:
  """tau of one granulated group; 0 where the measure or gap is constant (tau-b's
  NaN there would otherwise poison the whole coefficient)."""
  if np.ptp(measure) == 0 or np.ptp(gap) == 0:
    return math.nan if np.isnan(measure).any() or np.isnan(gap).any() else 0.0
  return kendall_tau(measure, gap, variant)


def correlation_table(measures: Mapping[str, Sequence], gap, hparams: Mapping[str, Sequence],
                      axes: Sequence[str] | None = None) -> list[dict[str, Any]]:
  """One row per measure: {"measure", "tau": tau-b, "tau_a", "granulated": Psi (tau-a,
  Jiang et al.'s convention), "psi_<axis>"...}, sorted by |tau| (largest first; NaN
  last)."""
  gap = _vector("gap", gap)
  if not measures:
    raise ValueError("measures is empty: nothing to correlate.")
  rows = []
  for name, values in measures.items():
    g = granulated_kendall(values, gap, hparams, axes)
    rows.append({"measure": name, "tau": kendall_tau(values, gap),
                 "tau_a": kendall_tau(values, gap, "a"), "granulated": g["mean"],
                 **{f"psi_{a}": v for a, v in g.items() if a != "mean"}})
  return sort_rows(rows, "tau")


def sort_rows(rows: Sequence[Mapping[str, Any]], column: str) -> list[dict[str, Any]]:
  """rows sorted by |row[column]|, largest first, NaN last."""
  missing = [i for i, r in enumerate(rows) if column not in r]
  if missing:
    raise ValueError(f"column {column!r} is missing from row {missing[0]}, whose columns are "
                     f"{list(rows[missing[0]])}.")
  key = lambda r: (math.isnan(r[column]), -abs(r[column]) if not math.isnan(r[column]) else 0)
  return [dict(r) for r in sorted(rows, key=key)]


def format_markdown(rows: Sequence[Mapping[str, Any]], limit: int | None = None) -> str:
  """rows as a markdown table (floats with 3 decimals)."""
  if limit is not None:
    _checks.check_int("limit", limit, 0)
  rows = list(rows)[:limit]
  if not rows:
    return ""
  cols = list(rows[0])
  fmt = lambda v: f"{v:+.3f}" if isinstance(v, float) else str(v)
  lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
  lines += ["| " + " | ".join(fmt(r[c]) for c in cols) + " |" for r in rows]
  return "\n".join(lines) + "\n"
