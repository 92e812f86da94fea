r"""Transferability of audio adversarial examples and the noise-injected attack, on FSDD.

  python -m experiments.audio_transfer --workdir=runs/audio_transfer
  python -m experiments.audio_transfer \
      --config=experiments/configs/audio_transfer.py:quick --config.tasks=digits

Trains the speech models of config.models on each task (digits: commands,
speakers: speaker identification), crafts FGSM / PGD / MI-FGSM / noise-injected
examples on each at each Linf budget (waveform amplitude), and writes the
source x target fooling matrices, each model's noise sensitivity and its
correlation with transfer rates to transfer_report.json/.md, figures
transfer_<task>.png, and clean/adversarial WAV pairs with spectrograms to
examples/. --fsdd_dir (or $JAXROBUST_FSDD_DIR) points at FSDD; by default
<project root>/../shared/data/fsdd, else TFDS spoken_digit.

References: Kim, Park & Lee, "Generating Transferable Adversarial Examples for
Speech Classification", Pattern Recognition 137 (2023).
Data: Free Spoken Digit Dataset (Zohar Jackson et al.), CC BY-SA 4.0.
"""

from __future__ import annotations

import os
import time
import zlib
from typing import Callable

from absl import flags
import jax
import ml_collections
import numpy as np

from experiments import pipeline
from jaxrobust import models
from jaxrobust.audio import outputs, region, transfer
from jaxrobust.audio.space import from_unit, snr_db, to_unit
from jaxrobust.audio.training import accuracy, train_classifier
from jaxrobust.data.audio import ATTRIBUTION, load_fsdd
from jaxrobust.eval import write_json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_FSDD = os.path.join(ROOT, os.pardir, "shared", "data", "fsdd")


def define_flags(config: str = "audio_transfer.py") -> None:
  """The flags of an audio binary (config: its default config file's name)."""
  pipeline.define_config_flags(config, f"runs/{config[:-3]}",
                               "Study configuration (ml_collections file).")
  flags.DEFINE_string("fsdd_dir", None, "FSDD folder (overrides config.fsdd_dir).")


def resolve_fsdd(config) -> None:
  """config.fsdd_dir from --fsdd_dir, $JAXROBUST_FSDD_DIR or the shared folder (if present)."""
  chosen = (flags.FLAGS.fsdd_dir or config.fsdd_dir or os.environ.get("JAXROBUST_FSDD_DIR")
            or (SHARED_FSDD if os.path.isdir(SHARED_FSDD) else ""))
  with config.unlocked():
    config.fsdd_dir = chosen


def check_config(config) -> None:
  """The sizes and budgets shared by the audio studies fail before any data is read."""
  pipeline.check_config(config, ints={
      "epochs": 1, "batch_size": 1, "batch_size_attack": 1, "steps": 1, "eval_clips": 1,
      "train_clips": 0, "num_samples": 1, "seed": 0, "examples": 0},
      reals={"learning_rate": pipeline.POSITIVE})


def load_task(config: ml_collections.ConfigDict, task: str):
  """(train split, evaluation clips u [n, samples] unit space, labels [n]) of a task."""
  kw = dict(path=config.fsdd_dir or None, data_dir=config.data_dir or None,
            num_samples=config.num_samples)
  train, test = load_fsdd("train", task, **kw), load_fsdd("test", task, **kw)
  # Every k-th test clip: the test split is ordered by digit and speaker.
  idx = np.linspace(0, len(test.labels) - 1, min(config.eval_clips, len(test.labels)))
  idx = np.unique(idx.astype(int))
  return train, np.asarray(to_unit(test.waveforms[idx])), test.labels[idx]


def train_models(config, task: str, train, key, log: Callable[[str], None],
                 workdir: str | None = None):
  """{model name: jitted logits_fn} trained on `train`, and their train times (s).

  Each model trains on the one epoch loop, checkpointed under
  <config.checkpoint_dir or workdir/checkpoints>/<task>/<model>: a killed study
  rerun resumes its models. A model's key derives from its name, so the two
  studies with the same seed, data and training options train the same
  model, and with a shared checkpoint_dir the second restores it.
  """
  fns, times = {}, {}
  pick = np.arange(len(train.labels))
  if config.train_clips and config.train_clips < len(pick):
    pick = np.linspace(0, len(pick) - 1, config.train_clips).astype(int)
  u = to_unit(train.waveforms[pick])
  for name in config.models:
    tic = time.perf_counter()
    model = models.make(name, num_classes=train.info.num_classes, mean=train.info.mean,
                          std=train.info.std)
    variables = train_classifier(
        model, u, train.labels[pick], key=named_key(key, name),
        epochs=config.epochs, batch_size=config.batch_size, learning_rate=config.learning_rate,
        workdir=os.path.join(checkpoints(config, workdir), task, name) if workdir else None)
    fns[name] = jax.jit(models.as_logits_fn(model, variables))
    times[name] = time.perf_counter() - tic
    log(f"[{task}] trained {name} in {times[name]:.0f} s")
  return fns, times


def named_key(key: jax.Array, name: str) -> jax.Array:
  """key folded with a name (a task, a model): the same whichever others a run covers."""
  return jax.random.fold_in(key, zlib.crc32(name.encode()) % 2 ** 31)


def checkpoints(config, workdir: str) -> str:
  return config.get("checkpoint_dir") or os.path.join(workdir, "checkpoints")


def _mask(config, u) -> np.ndarray | None:
  """The perturbation mask of unit-space clips u for config.region (None: everywhere)."""
  if config.region not in region.REGIONS:
    raise ValueError(f"Unknown config.region {config.region!r}; valid choices: "
                     f"{region.REGIONS}.")
  return None if config.region == "full" else region.speech_mask(from_unit(u), config.region)


def _median_finite(snr: np.ndarray) -> float:
  """Median SNR (dB) over the clips an attack changed (unchanged ones have +inf)."""
  finite = snr[np.isfinite(snr)]
  return float(np.median(finite)) if finite.size else float("inf")


def _matrix_md(names, matrix) -> str:
  lines = ["| source \\ target | " + " | ".join(names) + " |",
           "|---|" + "---|" * len(names)]
  for s, row in zip(names, matrix):
    lines.append(f"| {s} | " + " | ".join(f"{100 * v:.0f}%" for v in row) + " |")
  return "\n".join(lines)


def _off_diagonal_mean(m: np.ndarray, axis: int) -> np.ndarray:
  """Mean over sources (axis 0) or targets (axis 1) of the off-diagonal entries."""
  mask = ~np.eye(len(m), dtype=bool)
  return np.nanmean(np.where(mask, m, np.nan), axis=axis)


def _plot_transfer(task_report: dict, path: str) -> None:
  import matplotlib.pyplot as plt  # jaxrobust.audio.outputs set the Agg backend
  names = task_report["models"]
  attacks = list(task_report["attacks"])
  budget = task_report["budgets"][-1]
  fig, axes = plt.subplots(1, len(attacks) + 1, figsize=(4 * (len(attacks) + 1), 3.6))
  for ax, a in zip(axes, attacks):
    m = np.array(task_report["attacks"][a][str(budget)]["matrix"])
    ax.imshow(m, vmin=0, vmax=1, cmap="viridis")
    for i in range(len(names)):
      for j in range(len(names)):
        ax.text(j, i, f"{100 * m[i, j]:.0f}", ha="center", va="center", fontsize=7,
                color="w" if m[i, j] < 0.5 else "k")
    short = [n.replace("speech_", "") for n in names]
    ax.set_xticks(range(len(names)), short, rotation=45, fontsize=7)
    ax.set_yticks(range(len(names)), short, fontsize=7)
    ax.set_title(f"{a} (Linf {budget})", fontsize=9)
    ax.set_xlabel("target")
  axes[0].set_ylabel("source")
  ax = axes[-1]
  sens = task_report["noise_sensitivity_score"]
  rate = task_report["transfer_rate_to_target"]
  ax.scatter([sens[n] for n in names], [rate[n] for n in names])
  for n in names:
    ax.annotate(n.replace("speech_", ""), (sens[n], rate[n]), fontsize=7)
  ax.set_xlabel("noise sensitivity (accuracy drop)")
  ax.set_ylabel("fooling rate of transferred examples")
  fig.suptitle(f"{task_report['task']}: transferability ({ATTRIBUTION})", fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=90)
  plt.close(fig)


def transfer_study(config: ml_collections.ConfigDict, workdir: str,
                   log: Callable[[str], None] = print) -> dict:
  """Runs the transferability study of every config.tasks task; writes
  transfer_report.json/.md, transfer_<task>.png and examples/ into workdir."""
  os.makedirs(workdir, exist_ok=True)
  for a in config.attacks:
    if a not in transfer.ATTACK_NAMES:
      raise ValueError(f"Unknown transfer attack {a!r}; valid choices: {transfer.ATTACK_NAMES}.")
  tic = time.perf_counter()
  key = jax.random.key(config.seed)
  report = {"config": config.to_dict(), "data": ATTRIBUTION, "tasks": {}}
  md = ["# Transferability of audio adversarial examples (FSDD)", "",
        f"Data: {ATTRIBUTION}.", ""]
  for task in config.tasks:
    tkey = named_key(key, task)
    train, u, y = load_task(config, task)
    fns, train_times = train_models(config, task, train, jax.random.fold_in(tkey, 0), log,
                                    workdir)
    names = list(fns)
    mask = _mask(config, u)
    clean = {n: accuracy(fns[n], u, y) for n in names}
    noise = {n: transfer.noise_sensitivity(fns[n], u, y, config.noise_stds,
                                           key=jax.random.fold_in(tkey, 1)) for n in names}
    sens = {n: clean[n] - float(np.mean(noise[n])) for n in names}
    tr = {"task": task, "region": config.region, "models": names, "clean_accuracy": clean,
          "train_time_s": train_times,
          "noise_stds": list(config.noise_stds), "noise_accuracy": noise,
          "noise_sensitivity_score": sens, "budgets": list(config.budgets), "attacks": {}}
    w = np.asarray(from_unit(u))
    examples = []
    for ai, a in enumerate(config.attacks):
      tr["attacks"][a] = {}
      for bi, budget in enumerate(config.budgets):
        atk = transfer.make_attack(a, budget, steps=config.steps, noise_scale=config.noise_scale)
        adv = {s: transfer.attack_in_batches(atk, fns[s], u, y,
                                             key=jax.random.fold_in(tkey, 100 * ai + bi),
                                             batch_size=config.batch_size_attack, mask=mask)
               for s in names}
        m = transfer.fooling_matrix(fns, adv, u, y)
        snr = {s: _median_finite(np.asarray(snr_db(w, from_unit(adv[s])))) for s in names}
        tr["attacks"][a][str(budget)] = {
            "matrix": m.tolist(), "white_box": dict(zip(names, np.diag(m).tolist())),
            "transfer_rate": float(np.nanmean(_off_diagonal_mean(m, 1))),
            "median_snr_db": snr}
        log(f"[{task}] {a} Linf {budget}: white-box {np.mean(np.diag(m)):.2f}, "
            f"transfer {tr['attacks'][a][str(budget)]['transfer_rate']:.2f}, "
            f"SNR {np.median(list(snr.values())):.1f} dB")
        if bi == len(config.budgets) - 1 and len(examples) < config.examples:
          s0 = names[0]
          n = min(config.examples - len(examples), len(y))
          examples += outputs.write_examples(
              os.path.join(workdir, "examples"), w[:n], np.asarray(from_unit(adv[s0][:n])),
              [f"{task}_{a}_{s0.replace('speech_', '')}_{i}" for i in range(n)])
    # Transfer onto each target, averaged over attacks, budgets and other sources.
    rate_to = {n: float(np.nanmean([_off_diagonal_mean(np.array(v["matrix"]), 0)[j]
                                    for a in tr["attacks"].values() for v in a.values()]))
               for j, n in enumerate(names)}
    rate_from = {n: float(np.nanmean([_off_diagonal_mean(np.array(v["matrix"]), 1)[j]
                                      for a in tr["attacks"].values() for v in a.values()]))
                 for j, n in enumerate(names)}
    tr["transfer_rate_to_target"] = rate_to
    tr["transfer_rate_from_source"] = rate_from
    tr["correlation_noise_sensitivity_vs_transfer_to_target"] = transfer.correlation(
        [sens[n] for n in names], [rate_to[n] for n in names])
    tr["correlation_noise_sensitivity_vs_transfer_from_source"] = transfer.correlation(
        [sens[n] for n in names], [rate_from[n] for n in names])
    tr["examples"] = examples
    _plot_transfer(tr, os.path.join(workdir, f"transfer_{task}.png"))
    report["tasks"][task] = tr
    md += [f"## Task: {task} (perturbation region: {config.region})", "",
           "| model | clean acc | noise acc (per std " + ", ".join(map(str, config.noise_stds))
           + ") | sensitivity | fooled when target | transfers when source |",
           "|---|---|---|---|---|---|"]
    md += [f"| {n} | {100 * clean[n]:.1f}% | " + ", ".join(f"{100 * v:.0f}%" for v in noise[n])
           + f" | {sens[n]:.3f} | {100 * rate_to[n]:.0f}% | {100 * rate_from[n]:.0f}% |"
           for n in names]
    c = tr["correlation_noise_sensitivity_vs_transfer_to_target"]
    cs = tr["correlation_noise_sensitivity_vs_transfer_from_source"]
    md += ["", "Noise sensitivity vs fooling rate of transferred examples "
           f"(per target, n={c['n']}): "
           f"Pearson {c['pearson']:.2f} (p={c['pearson_p']:.2f}), Spearman {c['spearman']:.2f} "
           f"(p={c['spearman_p']:.2f}). Per source (how well its examples transfer): Pearson "
           f"{cs['pearson']:.2f} (p={cs['pearson_p']:.2f}), Spearman {cs['spearman']:.2f} "
           f"(p={cs['spearman_p']:.2f}).",
           "", "| attack | " + " | ".join(f"Linf {b}: transfer / white-box / SNR"
                                         for b in config.budgets) + " |",
           "|---|" + "---|" * len(config.budgets)]
    for a, per in tr["attacks"].items():
      md.append(f"| {a} | " + " | ".join(
          f"{100 * v['transfer_rate']:.0f}% / {100 * np.mean(list(v['white_box'].values())):.0f}%"
          f" / {np.median(list(v['median_snr_db'].values())):.1f} dB" for v in per.values()) + " |")
    for a, per in tr["attacks"].items():
      b = str(config.budgets[-1])
      md += ["", f"Fooling rates, {a} at Linf {b} (rows: source, columns: target):", "",
             _matrix_md(names, per[b]["matrix"])]
    md.append("")
    # After every task: partial runs count.
    write_report(workdir, "transfer_report", report, md, tic)
  return report


def write_report(workdir: str, stem: str, report: dict, md: list, tic: float) -> None:
  """<stem>.json and <stem>.md with the wall time so far (rewritten after each task)."""
  report["wall_time_s"] = time.perf_counter() - tic
  write_json(os.path.join(workdir, f"{stem}.json"), report)
  with open(os.path.join(workdir, f"{stem}.md"), "w") as f:
    f.write("\n".join(md + [f"Wall time: {report['wall_time_s']:.0f} s."]) + "\n")



def study_run(study):
  """run(config, workdir) of an audio binary: `study` on config with its FSDD folder."""
  def run(config, workdir: str) -> dict:
    check_config(config)
    resolve_fsdd(config)
    report = study(config, workdir, log=lambda m: print(m, flush=True))
    print(f"reports in {workdir}")
    return report
  return run


def run(config, workdir: str) -> dict:
  """The transfer study (`transfer_study`) on FSDD."""
  pipeline.check_config(config, reals={"budgets": pipeline.POSITIVE,
                                       "noise_scale": pipeline.POSITIVE,
                                       "noise_stds": pipeline.POSITIVE})
  return study_run(transfer_study)(config, workdir)


main = pipeline.report_main("audio_transfer", run, report=None)


if __name__ == "__main__":
  pipeline.start(define_flags, main)
