r"""Domain Fusion: few-shot target classification with multi-domain GAN augmentation.

  python -m experiments.domain_fusion --workdir=runs/domain_fusion
  python -m experiments.domain_fusion --config=experiments/configs/domain_fusion.py:tiny \
      --workdir=/tmp/df
  python -m experiments.domain_fusion --config=experiments/configs/domain_fusion.py:paper \
      --config.data_dir=/path/to/tensorflow_datasets --workdir=runs/df_cifar100

For every seed: the few-shot target subset (`config.data.per_class` images
per class, drawn by the seed), the GANs the variants need (each trained by the
resumable `train.fit_arrays` in <workdir>/seed<k>/<gan>), a pool of generated target
images per GAN, and one target classifier per variant (experiments/configs/
domain_fusion.py lists the variants). Accuracy on the target's whole test
split, mean +- std over seeds; sample quality by our own judge classifier
(accuracy on generated class-conditional target images, and the Frechet
distance of its features to the test images'; no Inception weights offline).
Writes report.json, report.md, samples.png (rows: classes; columns: real
target, then each GAN's target samples) and accuracy.png to the workdir.

Reference: Yamaguchi, Kanai & Eda, "Effective Data Augmentation with
Multi-Domain Learning GANs", AAAI 2020 (arXiv:1912.11597).
"""

import os
import time

import jax
import matplotlib
import ml_collections
import numpy as np
from absl import flags

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from experiments import pipeline  # noqa: E402
from jaxrobust import data as jr_data, eval as jr_eval, models  # noqa: E402
from jaxrobust.eval.evaluator import Evaluator  # noqa: E402
from jaxrobust.generative import domain_fusion as df  # noqa: E402
from jaxrobust.train.optimizers import make_optimizer  # noqa: E402

# Which GAN (if any) each variant draws its synthetic images from.
VARIANT_GAN = {"real": None, "standard_aug": None, "target_gan": "target_gan",
               "finetune_gan": "finetune_gan", "domain_fusion": "domain_fusion"}
# Independent streams derived from each seed (fold_in tags).
_GAN, _POOL, _CLASSIFIER, _JUDGE, _QUALITY = range(5)


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so tests can import several binaries."""
  pipeline.define_config_flags("domain_fusion.py", "runs/domain_fusion")


FLAGS = flags.FLAGS


def check_config(config: ml_collections.ConfigDict) -> None:
  """Bad names and sizes fail before any data is loaded or model trained."""
  variants = list(config.variants)
  if not variants:
    raise ValueError(f"config.variants is empty; valid choices: {tuple(VARIANT_GAN)}.")
  for v in variants:
    if v not in VARIANT_GAN:
      raise ValueError(f"Unknown variant {v!r} in config.variants; valid choices: "
                       f"{tuple(VARIANT_GAN)}.")
  pipeline.check_config(config, ints={
      "seeds": 0, **{f"{section}.{field}": 1 for section, fields in (
          ("gan", ("batch_size", "epochs", "pretrain_epochs", "latent_dim")),
          ("classifier", ("steps", "batch_size")), ("augment", ("pool_per_class",)),
          ("judge", ("steps",)), ("data", ("per_class", "resolution"))) for field in fields}},
      reals={"classifier.learning_rate": pipeline.POSITIVE})
  df.synthetic_count(config.classifier.batch_size, config.augment.synthetic_fraction)
  if config.judge.get("model", config.classifier.model).name != "small_cnn":
    raise ValueError("the judge must be a small_cnn (its hidden layer gives the features).")


def classifier_tx(config: ml_collections.ConfigDict, steps: int):
  return make_optimizer(ml_collections.ConfigDict({
      "name": "adam", "learning_rate": config.classifier.learning_rate,
      "schedule": "cosine"}), steps)


def build_classifier(section, num_classes: int, mean, std):
  options = {k: v for k, v in section.to_dict().items() if k != "name"}
  return models.make(section.name, num_classes=num_classes, mean=mean, std=std, **options)


def accuracy(model, variables, x, y) -> float:
  evaluator = Evaluator(lambda v, z: model.apply(v, z, train=False), {"clean": None}, 500)
  return float(evaluator(variables, x, y, key=jax.random.key(0))["clean"])


def train_gans(config, fusion: df.FusionData, variants, key, workdir) -> dict:
  """name -> (GAN, state, train seconds) for the GANs the variants need."""
  g = config.gan
  model = df.make_gan(fusion.image_shape, fusion.num_classes, latent_dim=g.latent_dim,
                      g_features=g.g_features, d_features=g.d_features,
                      embed_dim=g.embed_dim, spectral_norm=g.spectral_norm, loss=g.loss,
                      g_learning_rate=g.g_learning_rate, d_learning_rate=g.d_learning_rate,
                      b1=g.b1, b2=g.b2)
  needed = {VARIANT_GAN[v] for v in variants} - {None}
  common = dict(epochs=g.epochs, batch_size=g.batch_size, progress=config.progress)
  out = {}
  for i, name in enumerate(("target_gan", "finetune_gan", "domain_fusion")):
    if name not in needed:
      continue
    tic = time.perf_counter()
    k = jax.random.fold_in(key, i)
    if name == "domain_fusion":
      data = df.training_set(fusion, domains="both", target_fraction=g.target_fraction,
                             epoch_size=g.epoch_size)
      state, _ = df.train_gan(model, data, key=k, workdir=os.path.join(workdir, name), **common)
    elif name == "target_gan":
      data = df.training_set(fusion, domains="target", epoch_size=g.epoch_size)
      state, _ = df.train_gan(model, data, key=k, workdir=os.path.join(workdir, name), **common)
    else:  # pre-train on the outer domain, then fine-tune on the target domain
      outer = df.training_set(fusion, domains="outer", epoch_size=g.epoch_size)
      state, _ = df.train_gan(model, outer, key=k, workdir=os.path.join(workdir, name + "_pre"),
                              **{**common, "epochs": g.pretrain_epochs})
      data = df.training_set(fusion, domains="target", epoch_size=g.epoch_size)
      state, _ = df.train_gan(model, data, key=jax.random.fold_in(k, 1), state=state,
                              workdir=os.path.join(workdir, name), **common)
    out[name] = (model, state, time.perf_counter() - tic)
  return out


def train_judge(config, key):
  """Our own classifier for sample quality: the judge model (default: the classifier's
  small_cnn) on the target's whole train split; returns (model, variables, its test
  accuracy)."""
  d, data_dir = config.data, config.data_dir or None
  train, test = jr_data.load(d.target, "train", data_dir), jr_data.load(d.target, "test", data_dir)
  channels = train.info.input_shape[-1]
  x = df.prepare_images(train.images, d.resolution, channels)
  model = build_classifier(config.judge.get("model", config.classifier.model),
                           train.info.num_classes, train.info.mean, train.info.std)
  variables = df.train_classifier(
      model, x, train.labels, key, steps=config.judge.steps,
      batch_size=config.classifier.batch_size, tx=classifier_tx(config, config.judge.steps),
      crop_padding=config.augment.crop_padding, flip=config.augment.flip)
  test_x = df.prepare_images(test.images, d.resolution, channels)
  return model, variables, accuracy(model, variables, test_x, test.labels)


def sample_quality(judge, judge_vars, gan, state, fusion, per_class, key, test_features):
  """Judge accuracy on class-conditional target samples and the Frechet distance."""
  x, y = df.class_balanced_samples(gan, state, key, per_class, fusion.target_classes)
  feats = jr_eval.penultimate_features(judge, judge_vars, x)
  return {"judge_accuracy": accuracy(judge, judge_vars, x, y),
          "frechet_distance": jr_eval.frechet_distance(feats, test_features)}


def run_seed(config, seed: int, workdir: str, judge, judge_vars) -> dict:
  """Every variant's test accuracy and every GAN's sample quality for one seed."""
  d = config.data
  fusion = df.load_fusion_data(d.target, d.outer, resolution=d.resolution,
                               per_class=d.per_class, shared_classes=d.shared_classes,
                               seed=seed, data_dir=config.data_dir or None,
                               max_outer=d.max_outer)
  key = jax.random.key(seed)
  gans = train_gans(config, fusion, config.variants, jax.random.fold_in(key, _GAN), workdir)
  pools, quality = {}, {}
  test_features = jr_eval.penultimate_features(judge, judge_vars, fusion.test_x)
  real_features = jr_eval.penultimate_features(judge, judge_vars, fusion.target_x)
  quality["real_target_subset"] = {
      "judge_accuracy": accuracy(judge, judge_vars, fusion.target_x, fusion.target_y),
      "frechet_distance": jr_eval.frechet_distance(real_features, test_features)}
  for i, (name, (gan, state, seconds)) in enumerate(gans.items()):
    pools[name] = df.class_balanced_samples(
        gan, state, jax.random.fold_in(jax.random.fold_in(key, _POOL), i),
        config.augment.pool_per_class, fusion.target_classes)
    quality[name] = {**sample_quality(judge, judge_vars, gan, state, fusion,
                                      config.judge.samples_per_class,
                                      jax.random.fold_in(jax.random.fold_in(key, _QUALITY), i),
                                      test_features),
                     "train_time_s": seconds}
  c, a = config.classifier, config.augment
  results = {}
  for variant in config.variants:
    source = VARIANT_GAN[variant]
    model = build_classifier(c.model, fusion.target_classes, fusion.mean, fusion.std)
    tic = time.perf_counter()
    variables = df.train_classifier(
        model, fusion.target_x, fusion.target_y,
        jax.random.fold_in(jax.random.fold_in(key, _CLASSIFIER), 0), steps=c.steps,
        batch_size=c.batch_size, tx=classifier_tx(config, c.steps),
        crop_padding=0 if variant == "real" else a.crop_padding,
        flip=False if variant == "real" else a.flip,
        synthetic=pools.get(source), synthetic_fraction=a.synthetic_fraction if source else 0.0)
    results[variant] = {"test_accuracy": accuracy(model, variables, fusion.test_x, fusion.test_y),
                        "train_time_s": time.perf_counter() - tic}
  grid = {"real target": (fusion.target_x, fusion.target_y)}
  for name, (gan, state, _) in gans.items():
    grid[name] = df.class_balanced_samples(gan, state, jax.random.key(seed + 1000),
                                           config.grid_per_class, fusion.target_classes)
  return {"variants": results, "quality": quality, "grid": grid,
          "sizes": {"target_train": len(fusion.target_y), "target_test": len(fusion.test_y),
                    "outer": len(fusion.outer_y)}}


def summarize(values) -> dict:
  values = [float(v) for v in values]
  return {"mean": float(np.mean(values)), "std": float(np.std(values)), "per_seed": values}


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """Every seed of every variant; writes report.json, report.md, samples.png, accuracy.png."""
  check_config(config)
  os.makedirs(workdir, exist_ok=True)
  tic = time.perf_counter()
  judge, judge_vars, judge_test = train_judge(config,
                                              jax.random.fold_in(jax.random.key(0), _JUDGE))
  per_seed = {}
  for seed in config.seeds:
    per_seed[seed] = run_seed(config, seed, os.path.join(workdir, f"seed{seed}"), judge,
                              judge_vars)
  first = per_seed[config.seeds[0]]
  report = {
      "config": config.to_dict(), "seeds": list(config.seeds), "sizes": first["sizes"],
      "devices": [str(dv) for dv in jax.devices()],
      "accuracy": {v: summarize(per_seed[s]["variants"][v]["test_accuracy"]
                                for s in config.seeds) for v in config.variants},
      "quality": {name: {m: summarize(per_seed[s]["quality"][name][m] for s in config.seeds)
                         for m in ("judge_accuracy", "frechet_distance")}
                  for name in first["quality"]},
      "judge_test_accuracy": judge_test, "time_s": time.perf_counter() - tic,
  }
  report["config"]["seeds"] = list(config.seeds)
  jr_eval.write_json(os.path.join(workdir, "report.json"), report)
  with open(os.path.join(workdir, "report.md"), "w") as f:
    f.write(format_report(report))
  plot_samples(first["grid"], os.path.join(workdir, "samples.png"))
  plot_accuracy(report, os.path.join(workdir, "accuracy.png"))
  print(format_report(report))
  return report


def format_report(report: dict) -> str:
  """The markdown tables of report.md."""
  c, s = report["config"], report["sizes"]
  d = c["data"]
  lines = [f"# Domain Fusion: target {d['target']} ({s['target_train']} train images, "
           f"{d['per_class']} per class), outer {d['outer']} ({s['outer']} images), "
           f"{d['resolution']}x{d['resolution']}", "",
           f"Target test accuracy (%) on {s['target_test']} images, mean +- std over seeds "
           f"{report['seeds']}; GAN variants mix {c['augment']['synthetic_fraction']:.0%} "
           "generated images into every batch on top of the standard augmentation.", "",
           "| variant | test accuracy |", "|---|---|"]
  for name, r in report["accuracy"].items():
    lines.append(f"| {name} | {100 * r['mean']:.1f} +- {100 * r['std']:.1f} |")
  lines += ["", "Sample quality by our own judge (a small CNN trained on the target's whole "
            "train split; no Inception weights offline): its accuracy (%) on class-conditional "
            "target samples, and the Frechet distance of its penultimate features to the test "
            "images' (the FID formula in our feature space: comparable only within this "
            f"table). The judge's own test accuracy: {100 * report['judge_test_accuracy']:.1f}%. "
            "The first row scores the few-shot real subset itself.", "",
            "| images | judge accuracy | Frechet distance |", "|---|---|---|"]
  for name, q in report["quality"].items():
    lines.append(f"| {name} | {100 * q['judge_accuracy']['mean']:.1f} +- "
                 f"{100 * q['judge_accuracy']['std']:.1f} | "
                 f"{q['frechet_distance']['mean']:.2f} +- {q['frechet_distance']['std']:.2f} |")
  lines += ["", f"Total time {report['time_s']:.0f} s on {', '.join(report['devices'])}."]
  return "\n".join(lines) + "\n"


def plot_samples(grid: dict, path: str) -> None:
  """Rows: classes; a block of columns per source (real target, then each GAN)."""
  names = list(grid)
  labels = grid[names[0]][1]
  classes = np.unique(labels)
  per = max(int(np.sum(grid[n][1] == classes[0])) for n in names[1:]) if len(names) > 1 else 8
  fig, axes = plt.subplots(1, len(names), figsize=(1.6 + 0.35 * per * len(names),
                                                   0.4 * len(classes) + 0.8),
                           constrained_layout=True, squeeze=False)
  for ax, name in zip(axes[0], names):
    x, y = grid[name]
    rows = []
    for c in classes:
      picked = x[y == c][:per]
      pad = np.zeros((per - len(picked),) + x.shape[1:], x.dtype)
      rows.append(np.concatenate(list(np.concatenate([picked, pad])), axis=1))
    image = np.concatenate(rows, axis=0)
    ax.imshow(image.squeeze(-1) if image.shape[-1] == 1 else image, cmap="gray", vmin=0,
              vmax=1)
    ax.set_title(name)
    ax.set_xticks([])
    ax.set_yticks((np.arange(len(classes)) + 0.5) * x.shape[1], [str(c) for c in classes])
  fig.savefig(path, dpi=120)
  plt.close(fig)


def plot_accuracy(report: dict, path: str) -> None:
  names = list(report["accuracy"])
  fig, ax = plt.subplots(figsize=(1.5 + 1.3 * len(names), 3.6), constrained_layout=True)
  means = [100 * report["accuracy"][n]["mean"] for n in names]
  stds = [100 * report["accuracy"][n]["std"] for n in names]
  ax.bar(range(len(names)), means, yerr=stds, capsize=4, color="tab:blue")
  for i, name in enumerate(names):
    ax.scatter([i] * len(report["accuracy"][name]["per_seed"]),
               [100 * v for v in report["accuracy"][name]["per_seed"]], color="k", s=8, zorder=3)
  ax.set_xticks(range(len(names)), names, rotation=20)
  ax.set_ylabel("target test accuracy (%)")
  low = min(m - s for m, s in zip(means, stds))
  ax.set_ylim(max(0, low - 10), 100)
  ax.set_title("Domain Fusion: mean +- std over seeds (dots: seeds)")
  fig.savefig(path, dpi=120)
  plt.close(fig)


main = pipeline.report_main("domain_fusion", run)


if __name__ == "__main__":
  pipeline.start(define_flags, main)
