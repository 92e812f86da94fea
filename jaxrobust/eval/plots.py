"""Figures written as PNG files (matplotlib, no display needed)."""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_training_curves(history: Sequence[dict[str, Any]], path: str,
                         title: str = "") -> None:
  """Loss (left) and accuracies (right) per epoch from metrics.jsonl records."""
  epochs = [r["epoch"] for r in history]
  fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
  ax_loss.plot(epochs, [r["train_loss"] for r in history], marker="o")
  ax_loss.set(xlabel="epoch", ylabel="training loss", title="loss")
  for k in sorted(k for k in history[0] if k.endswith("accuracy")):
    ax_acc.plot(epochs, [100 * r[k] for r in history], marker="o", label=k)
  ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
  ax_acc.legend()
  for ax in (ax_loss, ax_acc):
    ax.grid(alpha=0.3)
  if title:
    fig.suptitle(title)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


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
