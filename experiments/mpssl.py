r"""MP-SSL on mnist5k: linear-evaluation accuracy of random, rotation-only, uniform MP-SSL
and Frank-Wolfe (min-norm) MP-SSL encoders, over seeds.

  python -m experiments.mpssl --workdir=runs/mpssl
  python -m experiments.mpssl --config=experiments/configs/mpssl.py:tiny --workdir=/tmp/m
  python -m experiments.mpssl --config=experiments/configs/mpssl.py:cifar10  # a GPU

Variants and protocol: experiments/configs/mpssl.py. Writes report.json,
report.md and mpssl.png (linear accuracy per variant; the min-norm task
weights over training; a batch of mixed pretext views) to the workdir.

References: Yamaguchi, Kanai, Shioda & Takeda, arXiv:1912.11603 (MP-SSL; v2
"Image Enhanced Rotation Prediction for Self-Supervised Learning", ICIP
2021); Sener & Koltun, NeurIPS 2018; Gidaris et al., ICLR 2018.
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
from jaxrobust import data, eval as jr_eval, selfsup  # noqa: E402


def define_flags() -> None:
  pipeline.define_config_flags("mpssl.py", "runs/mpssl")


FLAGS = flags.FLAGS


def _check_variants(config) -> None:
  for name, v in config.variants.items():
    selfsup.PRETEXT_TASKS.make_all(list(v.tasks))  # unknown task names fail before training
    if v.weighting not in selfsup.WEIGHTINGS:
      raise ValueError(f"config.variants.{name}.weighting: unknown {v.weighting!r}; valid "
                       f"choices: {selfsup.WEIGHTINGS}.")
  pipeline.check_config(config, ints={"seeds": 0, "epochs": 0, "batch_size": 1,
                                      "feature_dim": 1, "min_norm_iterations": 1,
                                      "probe.max_iter": 1, "probe.num_train": 0},
                        reals={"learning_rate": pipeline.POSITIVE,
                               "weight_decay": pipeline.NONNEGATIVE,
                               "probe.c": pipeline.POSITIVE})


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """Trains and probes every variant for every seed; writes report.json, report.md, mpssl.png."""
  _check_variants(config)
  data_dir = os.path.expanduser(config.data_dir) if config.data_dir else None
  train, test = data.load(config.dataset, "train", data_dir), data.load(config.dataset, "test",
                                                                        data_dir)
  n_probe = config.probe.num_train or len(train.labels)
  results, histories = {}, {}
  for name, v in config.variants.items():
    r = results[name] = {"accuracy": [], "train_time_s": []}
    for seed in config.seeds:
      fit = selfsup.fit_pretext(
          train.images, train.info, tasks=list(v.tasks), encoder=config.encoder.to_dict(),
          feature_dim=config.feature_dim, weighting=v.weighting,
          workdir=os.path.join(workdir, name, f"seed{seed}"),
          epochs=config.epochs if v.train else 0, batch_size=config.batch_size,
          learning_rate=config.learning_rate, weight_decay=config.weight_decay, seed=seed,
          min_norm_iterations=config.min_norm_iterations, progress=config.progress)
      accuracy = selfsup.linear_probe(
          selfsup.encode(fit, train.images[:n_probe]), train.labels[:n_probe],
          selfsup.encode(fit, test.images), test.labels, c=config.probe.c,
          max_iter=config.probe.max_iter)
      r["accuracy"].append(accuracy)
      r["train_time_s"].append(sum(h["train_time_s"] for h in fit.history))
      histories[name] = fit.history
    r["accuracy_mean"], r["accuracy_std"] = (float(np.mean(r["accuracy"])),
                                             float(np.std(r["accuracy"])))
    r["tasks"], r["weighting"] = list(v.tasks), v.weighting
    if fit.history:
      last = fit.history[-1]
      r["final_task_losses"] = {t: last[f"train_loss_{t}"] for t in v.tasks}
      r["final_alpha"] = {t: last[f"train_alpha_{t}"] for t in v.tasks}
  report = {"dataset": config.dataset, "encoder": config.encoder.to_dict(),
            "feature_dim": config.feature_dim, "epochs": config.epochs,
            "seeds": list(config.seeds), "probe": config.probe.to_dict(),
            "probe_train_examples": n_probe, "devices": [str(d) for d in jax.devices()],
            "results": results}
  jr_eval.write_json(os.path.join(workdir, "report.json"), report)
  with open(os.path.join(workdir, "report.md"), "w") as f:
    f.write(format_report(report))
  plot(report, histories, config, train.images[:8], os.path.join(workdir, "mpssl.png"))
  print(format_report(report))
  return report


def format_report(report: dict) -> str:
  lines = [f"# MP-SSL on {report['dataset']}: linear evaluation", "",
           f"Logistic regression (C = {report['probe']['c']}) on frozen {report['feature_dim']}"
           f"-d features of {report['probe_train_examples']} training images, accuracy on "
           f"the test set (mean +- std over seeds {report['seeds']}); encoder "
           f"{report['encoder']}, {report['epochs']} epochs.", "",
           "| variant | tasks | weighting | linear acc. (%) | final task weights | "
           "train s / seed |", "|---|---|---|---|---|---|"]
  for name, r in report["results"].items():
    alpha = ", ".join(f"{t} {a:.2f}" for t, a in r.get("final_alpha", {}).items())
    lines.append(f"| {name} | {', '.join(r['tasks'])} | {r['weighting']} | "
                 f"{100 * r['accuracy_mean']:.1f} +- {100 * r['accuracy_std']:.1f} | "
                 f"{alpha or '-'} | {np.mean(r['train_time_s']):.0f} |")
  return "\n".join(lines) + "\n"


def plot(report, histories, config, images, path) -> None:
  """Accuracy bars; the epoch-mean task weights of min-norm variants; mixed views."""
  fig = plt.figure(figsize=(13, 3.8), constrained_layout=True)
  grid = fig.add_gridspec(2, 6)
  ax = fig.add_subplot(grid[:, 0:2])
  names = list(report["results"])
  acc = [100 * report["results"][n]["accuracy_mean"] for n in names]
  err = [100 * report["results"][n]["accuracy_std"] for n in names]
  ax.bar(names, acc, yerr=err, capsize=3, color="tab:blue")
  ax.set_ylim(min(acc) - 10, 100)
  ax.tick_params(axis="x", rotation=30)
  ax.set_ylabel("linear-probe test accuracy (%)")
  ax.set_title(report["dataset"])
  ax = fig.add_subplot(grid[:, 2:4])
  for name in names:
    if report["results"][name]["weighting"].startswith("min_norm") and histories.get(name):
      for t in report["results"][name]["tasks"]:
        ax.plot([h["epoch"] for h in histories[name]],
                [h[f"train_alpha_{t}"] for h in histories[name]], marker="o",
                label=f"{name}: {t}")
  ax.set_xlabel("epoch")
  ax.set_ylabel("mean task weight alpha")
  ax.set_title("Frank-Wolfe min-norm weights (last seed)")
  if ax.lines:
    ax.legend(fontsize=6)
  tasks = selfsup.PRETEXT_TASKS.make_all(list(config.variants[names[-1]].tasks))
  views, labels = selfsup.make_views(tasks, data.to_float(images), jax.random.key(0))
  views = np.asarray(views)
  for i in range(min(4, len(views))):
    a = fig.add_subplot(grid[i // 2, 4 + i % 2])
    a.imshow(views[i].squeeze(), cmap="gray" if views.shape[-1] == 1 else None, vmin=0, vmax=1)
    a.set_title(" ".join(str(int(l)) for l in np.asarray(labels)[:, i]), fontsize=7)
    a.axis("off")
  fig.savefig(path, dpi=110)
  plt.close(fig)


main = pipeline.report_main("mpssl", run)


if __name__ == "__main__":
  pipeline.start(define_flags, main)
