r"""ABC (autoencoding binary classifiers) against an autoencoder, a binary classifier and
Deep SAD on mnist5k: AUROC on known and on unknown anomalies, over seeds.

  python -m experiments.anomaly --workdir=runs/anomaly
  python -m experiments.anomaly --config=experiments/configs/anomaly.py:tiny --workdir=/tmp/a

The protocol is in experiments/configs/anomaly.py. Writes report.json,
report.md and scores.png (histograms of each method's anomaly score on normal,
known and unknown test points; for ABC and the autoencoder that score is A(x))
to the workdir.

References: Yamanaka et al., "Autoencoding Binary Classifiers for Supervised
Anomaly Detection", PRICAI 2019 (arXiv:1903.10709); Ruff et al., "Deep
Semi-Supervised Anomaly Detection", ICLR 2020.
"""

from __future__ import annotations

import os

import jax
import matplotlib
import ml_collections
import numpy as np
from absl import flags

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from experiments import pipeline  # noqa: E402
from jaxrobust import anomaly, eval as jr_eval  # noqa: E402

KINDS = (("normal", anomaly.NORMAL), ("known", anomaly.KNOWN), ("unknown", anomaly.UNKNOWN))


def define_flags() -> None:
  pipeline.define_config_flags("anomaly.py", "runs/anomaly")


FLAGS = flags.FLAGS


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """Trains every method for every seed; writes report.json, report.md, scores.png."""
  detectors = {label: anomaly.DETECTORS.from_config(section)  # bad names fail before training
               for label, section in config.methods.items()}
  pipeline.check_config(config, ints={"seeds": 0, "epochs": 1, "batch_size": 1, "num_known": 0},
                        reals={"learning_rate": pipeline.POSITIVE,
                               "weight_decay": pipeline.NONNEGATIVE})
  results = {label: {"auroc_known": [], "auroc_unknown": [], "train_time_s": []}
             for label in detectors}
  last_scores = {}
  for seed in config.seeds:
    split = anomaly.make_split(config.dataset, normal=config.normal, known=config.known,
                               unknown=config.unknown, num_known=config.num_known, seed=seed)
    for label, detector in detectors.items():
      fit = anomaly.fit_detector(detector, split.train_images, split.train_labels, split.info,
                                 workdir=os.path.join(workdir, label, f"seed{seed}"),
                                 epochs=config.epochs, batch_size=config.batch_size,
                                 learning_rate=config.learning_rate,
                                 weight_decay=config.weight_decay, seed=seed,
                                 progress=config.progress)
      scores = anomaly.anomaly_scores(fit, split.test_images)
      by_kind = {name: scores[split.test_kind == k] for name, k in KINDS}
      r = results[label]
      r["auroc_known"].append(anomaly.auroc(by_kind["normal"], by_kind["known"]))
      r["auroc_unknown"].append(anomaly.auroc(by_kind["normal"], by_kind["unknown"]))
      r["train_time_s"].append(sum(h["train_time_s"] for h in fit.history))
      r["final_train_loss"] = fit.history[-1]["train_loss"]
      last_scores[label] = {k: v.tolist() for k, v in by_kind.items()}
  for r in results.values():
    for m in ("auroc_known", "auroc_unknown"):
      r[m + "_mean"], r[m + "_std"] = float(np.mean(r[m])), float(np.std(r[m]))
  report = {"dataset": config.dataset, "normal": list(config.normal),
            "known": list(config.known), "unknown": list(config.unknown),
            "num_known": config.num_known, "seeds": list(config.seeds),
            "epochs": config.epochs, "methods": config.methods.to_dict(),
            "devices": [str(d) for d in jax.devices()], "results": results}
  jr_eval.write_json(os.path.join(workdir, "report.json"), report)
  with open(os.path.join(workdir, "report.md"), "w") as f:
    f.write(format_report(report))
  plot_scores(last_scores, config.methods.to_dict(), config.seeds[-1],
              os.path.join(workdir, "scores.png"))
  print(format_report(report))
  return report


def format_report(report: dict) -> str:
  lines = [f"# Anomaly detection on {report['dataset']}: normal digits {report['normal']}, "
           f"known anomalies {report['known']} ({report['num_known']} labeled), unknown "
           f"{report['unknown']}", "",
           f"AUROC (mean +- std over seeds {report['seeds']}; {report['epochs']} epochs).", "",
           "| method | detector | AUROC known | AUROC unknown | train s / seed |",
           "|---|---|---|---|---|"]
  for label, r in report["results"].items():
    section = report["methods"][label]
    fields = ", ".join(f"{k}={v}" for k, v in section.items() if k != "name")
    lines.append(f"| {label} | {section['name']}{f' ({fields})' if fields else ''} | "
                 f"{r['auroc_known_mean']:.3f} +- {r['auroc_known_std']:.3f} | "
                 f"{r['auroc_unknown_mean']:.3f} +- {r['auroc_unknown_std']:.3f} | "
                 f"{np.mean(r['train_time_s']):.0f} |")
  return "\n".join(lines) + "\n"


def plot_scores(scores: dict, methods: dict, seed: int, path: str) -> None:
  """One histogram panel per method: its score on normal, known and unknown test points."""
  fig, axes = plt.subplots(1, len(scores), figsize=(3.6 * len(scores), 3.2),
                           constrained_layout=True, squeeze=False)
  for ax, (label, by_kind) in zip(axes[0], scores.items()):
    values = np.concatenate([by_kind[k] for k, _ in KINDS])
    positive = methods[label]["name"] != "binary_classifier"
    transform = np.log10 if positive and values.min() > 0 else (lambda v: np.asarray(v))
    bins = np.linspace(transform(values).min(), transform(values).max(), 40)
    for kind, _ in KINDS:
      ax.hist(transform(np.asarray(by_kind[kind])), bins=bins, alpha=0.5, label=kind,
              density=True)
    name = methods[label]["name"]
    what = "A(x)" if name in ("abc", "autoencoder") else (
        "||phi(x) - c||^2" if name == "deep_sad" else "logit margin")
    ax.set_xlabel(f"log10 {what}" if transform is np.log10 else what)
    ax.set_title(label)
    ax.legend(fontsize=8)
  fig.suptitle(f"anomaly scores on the test set (seed {seed})")
  fig.savefig(path, dpi=110)
  plt.close(fig)


main = pipeline.report_main("anomaly", run)


if __name__ == "__main__":
  pipeline.start(define_flags, main)
