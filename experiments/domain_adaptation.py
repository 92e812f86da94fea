r"""Unsupervised domain adaptation between scikit-learn's digits and mnist5k.

  python -m experiments.domain_adaptation --workdir=runs/domain_adaptation
  python -m experiments.domain_adaptation --config.seeds=5 --config.epochs=20
  python -m experiments.domain_adaptation --config=experiments/configs/domain_adaptation.py:tiny

Each method of the config (experiments/configs/domain_adaptation.py) trains on
each direction for seeds 0..seeds-1 by `jaxrobust.adaptation.fit`, in
<workdir>/<source>_to_<target>/<method>/seed<k> (resumable). Reported per
method and direction: target test accuracy mean +- std over seeds (the
target's labels are used for this only), source test accuracy, and two
feature-space statistics on the test sets (true labels): the class gap (mean
over classes of the distance between a class's source and target feature
centroids, over the mean distance between distinct source class centroids:
0 when same-class features align) and the domain gap (the distance between
the two domains' feature means, on the same scale). Writes report.json,
report.md, accuracy.png and features.png (PCA of the features of seed 0 of
every method, coloured by class, marked by domain).

References: Ganin et al., JMLR 2016 (DANN); Long et al., NeurIPS 2018 (CDAN,
CDAN+E); Zhao et al., ICML 2019 (why class-conditional alignment).
"""

import os

import jax
import matplotlib
import ml_collections
import numpy as np
from absl import flags
from sklearn.decomposition import PCA

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from experiments import pipeline  # noqa: E402
from jaxrobust import adaptation, eval as jr_eval  # noqa: E402


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so tests can import several binaries."""
  pipeline.define_config_flags("domain_adaptation.py", "runs/domain_adaptation")


FLAGS = flags.FLAGS


def parse_direction(direction: str) -> tuple[str, str]:
  """"digits->mnist5k" -> ("digits", "mnist5k"), both domains checked."""
  source, sep, target = direction.partition("->")
  if not sep or source not in adaptation.DOMAINS or target not in adaptation.DOMAINS \
      or source == target:
    raise ValueError(f"Unknown direction {direction!r} in config.directions; valid choices: "
                     f"'<source>-><target>' with two different domains of "
                     f"{adaptation.DOMAINS}, e.g. 'digits->mnist5k'.")
  return source, target


def method_section(config: ml_collections.ConfigDict, method: str) -> dict:
  """{"name": method, **config.method_options[method]} (checked by the registry)."""
  adaptation.ADAPTATION_METHODS.entry(method)  # an unknown name fails naming the choices
  options = config.method_options.get(method)
  options = options.to_dict() if options is not None else {}
  adaptation.ADAPTATION_METHODS.make(method, **options)
  return {"name": method, **options}


def run_config(config: ml_collections.ConfigDict, direction: str, method: str,
               seed: int) -> ml_collections.ConfigDict:
  """The config of one `adaptation.fit` run."""
  source, target = parse_direction(direction)
  return ml_collections.ConfigDict({
      "source": source, "target": target, "size": config.size, "crop": config.crop,
      "method": method_section(config, method), "model": config.model.to_dict(),
      "optimizer": config.optimizer.to_dict(), "batch_size": config.batch_size,
      "epochs": config.epochs, "seed": seed, "progress": config.progress})


def feature_gaps(source_features: np.ndarray, source_labels: np.ndarray,
                 target_features: np.ndarray, target_labels: np.ndarray) -> dict:
  """class_gap and domain_gap of the module docstring (true labels of both domains)."""
  classes = np.intersect1d(np.unique(source_labels), np.unique(target_labels))
  mu_s = np.stack([source_features[source_labels == c].mean(0) for c in classes])
  mu_t = np.stack([target_features[target_labels == c].mean(0) for c in classes])
  between = np.linalg.norm(mu_s[:, None] - mu_s[None], axis=-1)
  scale = between[~np.eye(len(classes), dtype=bool)].mean()
  return {"class_gap": float(np.linalg.norm(mu_s - mu_t, axis=1).mean() / scale),
          "domain_gap": float(np.linalg.norm(source_features.mean(0)
                                             - target_features.mean(0)) / scale)}


def _check(config: ml_collections.ConfigDict) -> None:
  for direction in config.directions:
    parse_direction(direction)
  for method in config.methods:
    method_section(config, method)
  pipeline.check_config(config, ints={"seeds": 1, "plot_points": 1, "epochs": 1,
                                      "batch_size": 1, "size": 1},
                        reals={"optimizer.learning_rate": pipeline.POSITIVE})
  if config.plot_direction and config.plot_direction not in config.directions:
    raise ValueError(f"config.plot_direction {config.plot_direction!r} is not one of "
                     f"config.directions {tuple(config.directions)} (or '' for none).")


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """Trains every (direction, method, seed); writes report.json, report.md and the PNGs."""
  _check(config)  # bad names fail before training
  os.makedirs(workdir, exist_ok=True)
  results, pictures = {}, {}
  for direction in config.directions:
    source, target = parse_direction(direction)
    pair = adaptation.load_pair(source, target, config.size, config.crop)
    results[direction] = {}
    for method in config.methods:
      runs = []
      for seed in range(config.seeds):
        result = adaptation.fit(
            run_config(config, direction, method, seed),
            os.path.join(workdir, f"{source}_to_{target}", method, f"seed{seed}"), pair)
        fs = result.features(pair.source_test.images)
        ft = result.features(pair.target_test.images)
        last = result.history[-1]
        runs.append({"seed": seed, "target_accuracy": last["target_accuracy"],
                     "source_accuracy": last["source_accuracy"],
                     **feature_gaps(fs, pair.source_test.labels, ft, pair.target_test.labels),
                     "train_time_s": sum(r["train_time_s"] for r in result.history),
                     "history": result.history})
        if seed == 0 and direction == config.plot_direction:
          n = config.plot_points
          pictures[method] = (fs[:n], pair.source_test.labels[:n], ft[:n],
                              pair.target_test.labels[:n])
      results[direction][method] = {"runs": runs, **summary(runs)}
  report = {"config": config.to_dict(), "devices": [str(d) for d in jax.devices()],
            "results": results}
  jr_eval.write_json(os.path.join(workdir, "report.json"), report)
  with open(os.path.join(workdir, "report.md"), "w") as f:
    f.write(format_report(report))
  plot_accuracy(report, os.path.join(workdir, "accuracy.png"))
  if pictures:
    plot_features(pictures, config.plot_direction, os.path.join(workdir, "features.png"))
  print(format_report(report))
  return report


def summary(runs: list[dict]) -> dict:
  """Mean and std (over seeds, ddof 0) of each reported number."""
  out = {}
  for key in ("target_accuracy", "source_accuracy", "class_gap", "domain_gap"):
    values = np.array([r[key] for r in runs])
    out[key] = {"mean": float(values.mean()), "std": float(values.std())}
  return out


def format_report(report: dict) -> str:
  """The markdown table of report.md."""
  c = report["config"]
  lines = [f"# Unsupervised domain adaptation, digits <-> mnist5k ({c['size']}x{c['size']}, "
           f"{c['epochs']} epochs, {c['seeds']} seeds)", "",
           "Test accuracy (%) mean +- std over seeds; class gap: same-class source-target "
           "centroid distance over the mean distance between source classes (0: aligned); "
           "domain gap: distance of the domain means on that scale.", ""]
  for direction, methods in report["results"].items():
    lines += [f"## {direction}", "",
              "| method | target acc | source acc | class gap | domain gap |",
              "|---|---|---|---|---|"]
    for name, r in methods.items():
      lines.append(
          f"| {name} | {100 * r['target_accuracy']['mean']:.1f} +- "
          f"{100 * r['target_accuracy']['std']:.1f} | {100 * r['source_accuracy']['mean']:.1f}"
          f" +- {100 * r['source_accuracy']['std']:.1f} | {r['class_gap']['mean']:.2f} +- "
          f"{r['class_gap']['std']:.2f} | {r['domain_gap']['mean']:.2f} |")
    lines.append("")
  return "\n".join(lines)


def plot_accuracy(report: dict, path: str) -> None:
  """Target accuracy per method and direction, with its std over seeds."""
  directions = list(report["results"])
  methods = list(report["results"][directions[0]])
  fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(methods) * len(directions), 3.6),
                         constrained_layout=True)
  width = 0.8 / len(directions)
  for i, direction in enumerate(directions):
    r = report["results"][direction]
    ax.bar(np.arange(len(methods)) + i * width,
           [100 * r[m]["target_accuracy"]["mean"] for m in methods], width,
           yerr=[100 * r[m]["target_accuracy"]["std"] for m in methods], capsize=3,
           label=direction)
  ax.set_xticks(np.arange(len(methods)) + width * (len(directions) - 1) / 2, methods)
  ax.set_ylabel("target test accuracy (%)")
  ax.set_ylim(0, 105)
  ax.legend(loc="upper left", fontsize=8)
  fig.savefig(path, dpi=120)
  plt.close(fig)


def plot_features(pictures: dict, direction: str, path: str) -> None:
  """One PCA panel per method: colour = class, o = source, x = target."""
  fig, axes = plt.subplots(1, len(pictures), figsize=(3.4 * len(pictures), 3.5),
                           constrained_layout=True, squeeze=False)
  cmap = plt.get_cmap("tab10")
  for ax, (method, (fs, ys, ft, yt)) in zip(axes[0], pictures.items()):
    z = PCA(n_components=2, random_state=0).fit_transform(np.concatenate([fs, ft]))
    ax.scatter(z[:len(fs), 0], z[:len(fs), 1], c=cmap(ys % 10), marker="o", s=9,
               alpha=0.6, linewidths=0)
    ax.scatter(z[len(fs):, 0], z[len(fs):, 1], c=cmap(yt % 10), marker="x", s=12,
               alpha=0.8, linewidths=0.8)
    ax.set_title(method, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
  axes[0, 0].set_ylabel(f"{direction}: PCA of features\no source, x target, colour = class",
                        fontsize=8)
  fig.savefig(path, dpi=120)
  plt.close(fig)


main = pipeline.report_main("domain_adaptation", run)


if __name__ == "__main__":
  pipeline.start(define_flags, main)
