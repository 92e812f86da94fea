"""Figures written as PNG files (matplotlib, no display needed)."""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


# Written by jaxrobust.train.monitor.RobustGapMonitor (every training run).
_ROBUST_TRAIN, _ROBUST_TEST = "robust_train_accuracy", "robust_test_accuracy"


def plot_training_curves(history: Sequence[dict[str, Any]], path: str,
                         title: str = "") -> None:
  """Loss, accuracies and robust overfitting per epoch from metrics.jsonl records.

  Panels: training loss; every other `*accuracy` field; and, when the records
  hold them, robust train vs robust test accuracy (PGD on fixed subsets) with
  the gap between them shaded: robust overfitting is the test curve peaking
  while the train curve keeps rising.
  """
  epochs = [r["epoch"] for r in history]
  robust = _ROBUST_TRAIN in history[0] and _ROBUST_TEST in history[0]
  fig, axes = plt.subplots(1, 3 if robust else 2, figsize=(13.5 if robust else 9, 3.5))
  ax_loss, ax_acc = axes[0], axes[1]
  ax_loss.plot(epochs, [r["train_loss"] for r in history], marker="o")
  ax_loss.set(xlabel="epoch", ylabel="training loss", title="loss")
  for k in sorted(k for k in history[0] if k.endswith("accuracy")
                  and k not in (_ROBUST_TRAIN, _ROBUST_TEST)):
    ax_acc.plot(epochs, [100 * _nan(r.get(k)) for r in history], marker="o", label=k)
  ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
  ax_acc.legend()
  if robust:
    ax_gap = axes[2]
    train = [100 * _nan(r.get(_ROBUST_TRAIN)) for r in history]
    test = [100 * _nan(r.get(_ROBUST_TEST)) for r in history]
    ax_gap.plot(epochs, train, marker="o", label="robust train")
    ax_gap.plot(epochs, test, marker="o", label="robust test")
    ax_gap.fill_between(epochs, test, train, alpha=0.2, label="gap")
    best = max(range(len(test)), key=lambda i: test[i])
    ax_gap.axvline(epochs[best], color="gray", ls=":", lw=1,
                   label=f"best robust test (epoch {epochs[best]})")
    ax_gap.set(xlabel="epoch", ylabel="PGD accuracy (%)", title="robust overfitting")
    ax_gap.legend(fontsize="small")
  for ax in axes:
    ax.grid(alpha=0.3)
  if title:
    fig.suptitle(title)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def _nan(value) -> float:
  """A logged value; null (a non-finite float in metrics.jsonl) as NaN."""
  return float("nan") if value is None else value


def plot_robustness_curves(curves: dict[str, dict[str, Any]], path: str,
                           title: str = "") -> None:
  """Accuracy vs eps, one line per model: name -> {"eps": [...], "accuracy": [...]}."""
  fig, ax = plt.subplots(figsize=(5, 3.5))
  for name, curve in curves.items():
    ax.plot(curve["eps"], [100 * a for a in curve["accuracy"]], marker="o", label=name)
  ax.set(xlabel="eps", ylabel="robust accuracy (%)", ylim=(0, 100), title=title)
  ax.grid(alpha=0.3)
  ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def plot_population_curves(histories: Sequence[Sequence[dict[str, Any]]], path: str,
                           labels: Sequence[str] | None = None, title: str = "") -> None:
  """Robust train (solid) and robust test (dashed) accuracy per epoch of every member
  of a population (left) and their gaps (right); one color per member.

  histories[i]: member i's records (`PopulationResult.histories`); labels[i]
  its legend entry (default "member i"; the legend is left out beyond 12 members).
  """
  if not histories or not histories[0]:
    raise ValueError("plot_population_curves needs at least one member with one epoch.")
  if _ROBUST_TRAIN not in histories[0][0]:
    raise ValueError(f"the records hold no {_ROBUST_TRAIN!r}: was robust_gap off?")
  labels = list(labels) if labels is not None else [f"member {i}" for i in range(len(histories))]
  fig, (ax_acc, ax_gap) = plt.subplots(1, 2, figsize=(11, 4))
  colors = plt.cm.viridis([i / max(len(histories) - 1, 1) for i in range(len(histories))])
  for history, label, color in zip(histories, labels, colors):
    epochs = [r["epoch"] for r in history]
    train = [100 * _nan(r.get(_ROBUST_TRAIN)) for r in history]
    test = [100 * _nan(r.get(_ROBUST_TEST)) for r in history]
    ax_acc.plot(epochs, train, color=color, label=label)
    ax_acc.plot(epochs, test, color=color, ls="--")
    ax_gap.plot(epochs, [a - b for a, b in zip(train, test)], color=color, label=label)
  ax_acc.set(xlabel="epoch", ylabel="PGD accuracy (%)",
             title="robust train (solid) / robust test (dashed)")
  ax_gap.set(xlabel="epoch", ylabel="robust train - robust test (points)",
             title="robust generalization gap")
  for ax in (ax_acc, ax_gap):
    ax.grid(alpha=0.3)
  if len(histories) <= 12:
    ax_gap.legend(fontsize="small")
  if title:
    fig.suptitle(title)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
