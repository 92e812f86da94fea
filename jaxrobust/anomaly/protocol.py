"""Anomaly splits of a labeled image set: normal classes, a few labeled known anomalies,
and unknown anomaly classes never seen in training.

The protocol of Yamanaka et al. 2019 (section 5): training data are normal
points plus a small number of labeled anomalies of some classes ("known");
test anomalies also come from classes absent from training ("unknown").
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from jaxrobust import _checks, data
from jaxrobust.data.info import DatasetInfo

NORMAL, KNOWN, UNKNOWN = 0, 1, 2


class AnomalySplit(NamedTuple):
  """train_images uint8 [n, h, w, c], train_labels int32 [n] (0 normal, 1 known
  anomaly); test_images [m, h, w, c], test_kind int32 [m] (NORMAL, KNOWN,
  UNKNOWN) and test_classes [m] (the original class of each test point)."""
  train_images: np.ndarray
  train_labels: np.ndarray
  test_images: np.ndarray
  test_kind: np.ndarray
  test_classes: np.ndarray
  info: DatasetInfo


def make_split(dataset: str = "mnist5k", *, normal: Sequence[int], known: Sequence[int],
               unknown: Sequence[int], num_known: int, seed: int,
               data_dir: str | None = None) -> AnomalySplit:
  """All training points of the `normal` classes, `num_known` labeled points drawn
  (by `seed`, stratified over the classes) from the `known` classes' training
  points, and every test point of the three groups."""
  _checks.check_int("seed", seed, 0)
  groups = {"normal": tuple(normal), "known": tuple(known), "unknown": tuple(unknown)}
  # What needs no data is checked before the (slow) load.
  for name, group in groups.items():
    if not group or any(isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 0
                        for c in group):
      raise ValueError(f"{name} classes must be a non-empty sequence of class indices "
                       f">= 0, got {group!r}.")
  seen = [c for g in groups.values() for c in g]
  if len(set(seen)) != len(seen):
    raise ValueError(f"the normal, known and unknown classes must be disjoint, got {groups}.")
  _checks.check_int("num_known", num_known, 1)
  train, test = data.load(dataset, "train", data_dir), data.load(dataset, "test", data_dir)
  classes = train.info.num_classes
  for name, group in groups.items():
    if max(group) >= classes:
      raise ValueError(f"{name} classes must be a non-empty sequence of class indices in "
                       f"[0, {classes}), got {group!r}.")
  pool = np.flatnonzero(np.isin(train.labels, groups["known"]))
  if not isinstance(num_known, (int, np.integer)) or not 1 <= num_known <= len(pool):
    raise ValueError(f"num_known must be an integer in [1, {len(pool)}] (the known classes' "
                     f"training points), got {num_known!r}.")
  rng = np.random.default_rng(seed)
  per_class = np.array_split(np.arange(num_known), len(groups["known"]))
  picked = np.concatenate([
      rng.choice(np.flatnonzero(train.labels == c), len(share), replace=False)
      for c, share in zip(groups["known"], per_class)])
  normal_idx = np.flatnonzero(np.isin(train.labels, groups["normal"]))
  idx = np.concatenate([normal_idx, picked])
  labels = np.concatenate([np.zeros(len(normal_idx)), np.ones(len(picked))]).astype(np.int32)
  kind = np.full(len(test.labels), -1, np.int32)
  for value, name in ((NORMAL, "normal"), (KNOWN, "known"), (UNKNOWN, "unknown")):
    kind[np.isin(test.labels, groups[name])] = value
  keep = kind >= 0
  return AnomalySplit(train.images[idx], labels, test.images[keep], kind[keep],
                      test.labels[keep], train.info)
