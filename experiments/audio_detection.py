r"""Detecting adversarial audio with an ensemble of feature extractions, on FSDD.

  python -m experiments.audio_detection --workdir=runs/audio_detection
  python -m experiments.audio_detection \
      --config=experiments/configs/audio_detection.py:quick --config.tasks=digits

Per task, trains the victim and surrogate speech models, crafts the detector's
training attack (white-box PGD) and test attacks (other white-box attacks,
PGD transferred from the surrogate, Square), trains one detector per feature
extraction (STFT, log-mel, MFCC, a self-supervised encoder trained here by
masked prediction) on clean vs training-attack clips, and reports AUROC /
accuracy of each and of their ensemble on held-out clips, once with
perturbations anywhere and once restricted to each clip's speech region
(config.regions; detection_report.json/.md, detection_<task>_<region>.png,
examples/). Models and the encoder are checkpointed (config.checkpoint_dir);
a killed run resumes them.

References: the detection study of Kim, Park, Choi, Lee et al. (ensemble of
diverse feature extractions); see jaxrobust/audio/detection.py.
Data: Free Spoken Digit Dataset (Zohar Jackson et al.), CC BY-SA 4.0.
"""

from __future__ import annotations

import os
import time
from typing import Callable

import jax
import ml_collections
import numpy as np

from experiments import audio_transfer, pipeline
from jaxrobust.attacks.registry import ATTACKS
from jaxrobust.audio import detection, outputs, region, ssl, transfer
from jaxrobust.audio.space import from_unit, snr_db, to_unit, unit_eps
from jaxrobust.audio.training import accuracy
from jaxrobust.data.audio import ATTRIBUTION


def define_flags() -> None:
  audio_transfer.define_flags("audio_detection.py")


def _detection_rows(config, fns, detectors, y, w, advs, half) -> dict:
  """AUROC / balanced accuracy of each detector and their ensemble on the held-out clips."""
  rows = {}
  clean_s = {n: d.score(w[half:]) for n, d in detectors.items()}
  clean_s["ensemble"] = np.mean([clean_s[n] for n in detectors], 0)
  for label, adv in advs.items():
    adv_s = {n: d.score(adv[half:]) for n, d in detectors.items()}
    adv_s["ensemble"] = np.mean([adv_s[n] for n in detectors], 0)
    rows[label] = {n: {"auroc": detection.auroc(clean_s[n], adv_s[n]),
                       "accuracy": detection.detection_accuracy(clean_s[n], adv_s[n])}
                   for n in clean_s}
    rows[label]["victim_accuracy"] = accuracy(fns[config.victim], to_unit(adv), y)
    snr = np.asarray(snr_db(w, adv))  # +inf: clips the attack left unchanged
    rows[label]["median_snr_db"] = (float(np.median(snr[np.isfinite(snr)]))
                                    if np.isfinite(snr).any() else float("inf"))
    rows[label]["changed_fraction"] = float(np.mean(np.isfinite(snr)))
  return rows


def detection_study(config: ml_collections.ConfigDict, workdir: str,
                    log: Callable[[str], None] = print) -> dict:
  """Runs the detection study on every config.tasks task and config.regions region; writes
  detection_report.json/.md, detection_<task>_<region>.png and examples/ into workdir."""
  os.makedirs(workdir, exist_ok=True)
  for r in config.regions:
    if r not in region.REGIONS:
      raise ValueError(f"Unknown region {r!r} in config.regions; valid choices: "
                       f"{region.REGIONS}.")
  tic = time.perf_counter()
  key = jax.random.key(config.seed)
  report = {"config": config.to_dict(), "data": ATTRIBUTION, "tasks": {},
            "note": (f"The self-supervised representation is a small encoder trained here "
                     f"({config.ssl_objective} objective) on the FSDD training split, its frames "
                     "read in dB (jaxrobust.audio.detection.db_scale); pretrained "
                     "hub models (wav2vec 2.0, HuBERT) are not reachable offline. Region "
                     "'speech' restricts every perturbation to the clip's non-silent span "
                     "(librosa.effects.trim's definition, top_db 40), so the zero padding "
                     "carries none of it.")}
  md = ["# Detecting adversarial audio with an ensemble of feature extractions (FSDD)", "",
        f"Data: {ATTRIBUTION}.", "", report["note"], ""]
  for task in config.tasks:
    tkey = audio_transfer.named_key(key, task)
    train, u, y = audio_transfer.load_task(config, task)
    fns, _ = audio_transfer.train_models(config, task, train, jax.random.fold_in(tkey, 0), log,
                                         workdir)
    victim, surrogate = config.victim, config.surrogate
    reps = {n: detection.representation(n, train.info.sample_rate)
            for n in config.representations}
    if config.ssl_epochs:
      enc_tic = time.perf_counter()
      reps["ssl"] = jax.jit(detection.db_scale(ssl.train_encoder(
          train.waveforms, key=jax.random.fold_in(tkey, 1), epochs=config.ssl_epochs,
          objective=config.ssl_objective, sample_rate=train.info.sample_rate,
          workdir=os.path.join(audio_transfer.checkpoints(config, workdir), task,
                               f"ssl_{config.ssl_objective}"))))
      log(f"[{task}] self-supervised encoder ({config.ssl_objective}) trained in "
          f"{time.perf_counter() - enc_tic:.0f} s")
    # Detector training data: the first half of the clips; evaluation: the second half.
    half = len(y) // 2
    w = np.asarray(from_unit(u))
    scenarios = {f"white-box {config.train_attack} (train attack)": (config.train_attack, victim)}
    for a in config.other_attacks:
      scenarios[f"white-box {a}"] = (a, victim)
    scenarios[f"black-box transfer pgd from {surrogate}"] = ("pgd", surrogate)
    if config.square_queries:
      scenarios["black-box square"] = ("square", victim)
    train_label = next(iter(scenarios))
    task_report = {"victim": victim, "surrogate": surrogate,
                   "clean_accuracy": {n: accuracy(f, u, y) for n, f in fns.items()},
                   "budget": config.budget, "regions": {}}
    cols = list(reps) + ["ensemble"]
    for ri, reg in enumerate(config.regions):
      mask = None if reg == "full" else region.speech_mask(w, reg)
      advs = {}
      for i, (label, (a, src)) in enumerate(scenarios.items()):
        k = jax.random.fold_in(tkey, 10 + i)
        if a == "square":
          adv = _square(fns[src], u, y, config.budget, config.square_queries, k, mask)
        else:
          adv = transfer.attack_in_batches(transfer.make_attack(a, config.budget,
                                                                steps=config.steps),
                                           fns[src], u, y, key=k,
                                           batch_size=config.batch_size_attack, mask=mask)
        advs[label] = np.asarray(from_unit(adv))
        log(f"[{task}/{reg}] {label}: victim accuracy {accuracy(fns[victim], adv, y):.2f}")
      detectors = {n: detection.fit_detector(r, w[:half], advs[train_label][:half],
                                             key=jax.random.fold_in(tkey, 2 + j))
                   for j, (n, r) in enumerate(reps.items())}
      rows = _detection_rows(config, fns, detectors, y, w, advs, half)
      examples = outputs.write_examples(
          os.path.join(workdir, "examples"), w[:config.examples],
          advs[train_label][:config.examples],
          [f"{task}_{reg}_{config.train_attack}_{i}" for i in range(config.examples)])
      task_report["regions"][reg] = {"rows": rows, "examples": examples}
      md += [f"## Task: {task}, perturbation region: {reg} (victim {victim}, "
             f"Linf {config.budget})", "",
             "AUROC / balanced accuracy on held-out clips:", "",
             "| attack | victim acc | SNR | " + " | ".join(cols) + " |",
             "|---|---|---|" + "---|" * len(cols)]
      for label, r in rows.items():
        md.append(f"| {label} | {100 * r['victim_accuracy']:.0f}% | {r['median_snr_db']:.1f} dB"
                  " | " + " | ".join(f"{r[c]['auroc']:.3f} / {100 * r[c]['accuracy']:.0f}%"
                                     for c in cols) + " |")
      md.append("")
      _plot_detection(f"{task}, region {reg}", rows, cols,
                      os.path.join(workdir, f"detection_{task}_{reg}.png"))
      report["tasks"][task] = task_report
      # After every region: partial runs count.
      audio_transfer.write_report(workdir, "detection_report", report, md, tic)
  return report


def _square(logits_fn, u, y, budget, queries, key, mask=None):
  """Square (Linf) on waveforms: the clip is viewed as an image [batch, rows, 100, 1]
  of consecutive 100-sample rows, so square windows are blocks of nearby samples.
  mask [batch, samples]: where the perturbation may go (None: everywhere)."""
  n, t = u.shape
  cols = 100 if t % 100 == 0 else 1
  img = np.asarray(u).reshape(n, t // cols, cols, 1)
  m = np.ones((n, t), np.float32) if mask is None else np.asarray(mask, np.float32)

  def run(x, yy, mm, k):
    x0 = x.reshape(n, t)
    inside = lambda z: x0 + mm * (z.reshape(z.shape[0], t) - x0)
    atk = ATTACKS.make("square", eps=unit_eps(budget), n_queries=queries)
    return inside(atk(lambda z: logits_fn(inside(z)), x, yy, key=k))

  return np.asarray(jax.jit(run)(img, np.asarray(y), m, key))


def _plot_detection(task, rows, cols, path):
  import matplotlib.pyplot as plt
  labels = list(rows)
  fig, ax = plt.subplots(figsize=(1.6 * len(cols) + 4, 0.5 * len(labels) + 2))
  m = np.array([[rows[lab][c]["auroc"] for c in cols] for lab in labels])
  ax.imshow(m, vmin=0.5, vmax=1, cmap="viridis")
  for i in range(len(labels)):
    for j in range(len(cols)):
      ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=8,
              color="w" if m[i, j] < 0.75 else "k")
  ax.set_xticks(range(len(cols)), cols)
  ax.set_yticks(range(len(labels)), labels, fontsize=8)
  ax.set_title(f"{task}: detection AUROC ({ATTRIBUTION})", fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=90)
  plt.close(fig)


def run(config, workdir: str) -> dict:
  """The detection study (`detection_study`) on FSDD."""
  pipeline.check_config(config, ints={"ssl_epochs": 0, "square_queries": 1},
                        reals={"budget": pipeline.POSITIVE})
  return audio_transfer.study_run(detection_study)(config, workdir)


main = pipeline.report_main("audio_detection", run, report=None)


if __name__ == "__main__":
  pipeline.start(define_flags, main)
