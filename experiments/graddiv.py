r"""A randomized small CNN trained with and without GradDiv, evaluated with its noise on.

  python -m experiments.graddiv --workdir=runs/graddiv
  python -m experiments.graddiv --config.graddiv.penalty=mean_cosine --config.graddiv.weight=2
  python -m experiments.graddiv --config=experiments/configs/graddiv.py:tiny --workdir=/tmp/gd

Each variant of the config (experiments/configs/graddiv.py) trains by
`train.fit` in <workdir>/<variant> (resumable), then is evaluated on the first
eval.num_examples test images with the model's noise on
(`jaxrobust.eval.randomized`): clean accuracy, PGD (a new network drawn at
every step) and EOT-PGD (eval.eot_samples draws per step), each predicted
eval.repeats times (mean and spread over draws); the concentration of the
sampled input gradients; the transferability matrix among sample networks.
Writes report.json, report.md and graddiv.png to the workdir.

Reference: Lee, Kim & Lee, "GradDiv: Adversarial Robustness of Randomized
Neural Networks via Gradient Diversity Regularization", IEEE TPAMI 2022
(arXiv:2107.02425).
"""

import os

import jax
import matplotlib
import ml_collections
import numpy as np
from absl import flags

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from experiments import pipeline  # noqa: E402
from jaxrobust import attacks, eval as jr_eval, train  # noqa: E402
from jaxrobust.eval import randomized as rand_eval  # noqa: E402

VARIANTS = ("baseline", "graddiv")
ATTACK_NAMES = ("clean", "pgd", "eot-pgd")


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so tests can import several binaries."""
  pipeline.define_config_flags("graddiv.py", "runs/graddiv")


FLAGS = flags.FLAGS


def defense_section(config: ml_collections.ConfigDict, variant: str) -> dict:
  """The defense config section of a variant: "standard" or PGD-AT for the baseline
  (config.attack None or a PGD section), GradDiv with config.graddiv for graddiv,
  and for "graddiv_w<weight>" (e.g. graddiv_w1) at that weight."""
  name, _, weight = variant.partition("_w")
  if name not in VARIANTS or (weight and name != "graddiv") or (
      weight and not _is_number(weight)):
    raise ValueError(f"Unknown variant {variant!r} in config.variants; valid choices: "
                     f"{VARIANTS} or graddiv_w<weight> (e.g. graddiv_w1).")
  attack = config.attack.to_dict() if hasattr(config.attack, "to_dict") else config.attack
  if name == "baseline":
    return {"name": "standard"} if attack is None else {"name": "pgd_at", "attack": attack}
  section = {"name": "graddiv", "attack": attack, **config.graddiv.to_dict()}
  if weight:
    section["weight"] = float(weight)
  return section


def _is_number(text: str) -> bool:
  try:
    return float(text) >= 0
  except ValueError:
    return False


def eval_attacks(e: ml_collections.ConfigDict) -> dict:
  """PGD (one draw per step) and EOT-PGD at e.eps, Madry's step 2.5 eps / steps."""
  step = 2.5 * e.eps / e.pgd_steps
  return {"pgd": attacks.EOTPGD(eps=e.eps, step_size=step, steps=e.pgd_steps, eot_iter=1),
          "eot-pgd": attacks.EOTPGD(eps=e.eps, step_size=step, steps=e.pgd_steps,
                                    eot_iter=e.eot_samples)}


def evaluate_variant(model, variables, images, labels, e, key) -> dict:
  """The randomized evaluation of one trained model (see the module docstring)."""
  accuracy = rand_eval.randomized_report(model, variables, images, labels, eval_attacks(e),
                                         key=jax.random.fold_in(key, 0), repeats=e.repeats,
                                         batch_size=e.batch_size)
  concentration = rand_eval.gradient_concentration_report(
      model, variables, images, labels, key=jax.random.fold_in(key, 1),
      samples=e.concentration_samples, batch_size=e.batch_size)
  transfer_pgd = attacks.PGD(eps=e.eps, step_size=2.5 * e.eps / e.transfer_steps,
                             steps=e.transfer_steps)
  transfer = rand_eval.transfer_matrix(model, variables, images, labels, transfer_pgd,
                                       key=jax.random.fold_in(key, 2),
                                       networks=e.transfer_networks, batch_size=e.batch_size)
  return {"accuracy": accuracy, "concentration": concentration, "transfer": transfer}


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """Trains and evaluates every variant; writes report.json, report.md, graddiv.png."""
  variants = list(config.variants)
  sections = {v: defense_section(config, v) for v in variants}  # bad names fail first
  e = config.eval
  pipeline.check_training_config(config)
  pipeline.check_config(config, ints={f"eval.{field}": 1 for field in (
      "num_examples", "repeats", "pgd_steps", "eot_samples", "transfer_steps", "batch_size")},
                        reals={"eval.eps": pipeline.NONNEGATIVE})
  os.makedirs(workdir, exist_ok=True)
  results = {}
  for variant in variants:
    c = config.copy_and_resolve_references()
    with c.unlocked():
      c.defense = ml_collections.ConfigDict(sections[variant])
    result = train.fit(c, os.path.join(workdir, variant))
    n = min(e.num_examples, len(result.test.labels))
    images, labels = result.test.images[:n], result.test.labels[:n]
    evaluation = evaluate_variant(result.model, train.variables(result.state), images, labels,
                                  e, jax.random.key(e.seed))
    last = result.history[-1]
    results[variant] = {
        "defense": sections[variant], **evaluation,
        "deterministic_twin_test_accuracy": last["test_accuracy"],
        "train": {k: v for k, v in last.items() if k.startswith("train_")},
        "train_time_s": sum(r["train_time_s"] for r in result.history)}
  report = {"dataset": config.dataset, "model": config.model.to_dict(),
            "epochs": config.epochs, "seed": config.seed, "eval": e.to_dict(),
            "devices": [str(d) for d in jax.devices()], "variants": results}
  jr_eval.write_json(os.path.join(workdir, "report.json"), report)
  with open(os.path.join(workdir, "report.md"), "w") as f:
    f.write(format_report(report))
  plot(report, os.path.join(workdir, "graddiv.png"))
  print(format_report(report))
  return report


def format_report(report: dict) -> str:
  """The markdown tables of report.md."""
  e = report["eval"]
  n = next(iter(report["variants"].values()))["accuracy"]["num_examples"]
  lines = [f"# GradDiv on a randomized small CNN ({report['dataset']}, {report['epochs']} "
           f"epochs, seed {report['seed']})", "",
           f"Accuracy (%) on {n} test images, Linf eps = {e['eps']}, each input predicted "
           f"{e['repeats']} times with the model's noise on: mean +- std over draws "
           f"[majority vote]. PGD: {e['pgd_steps']} steps, a new network every step; "
           f"EOT-PGD: {e['eot_samples']} draws per step.", "",
           "| variant | clean | PGD | EOT-PGD | twin clean | train s |",
           "|---|---|---|---|---|---|"]
  for name, r in report["variants"].items():
    cells = [f"{100 * r['accuracy'][a]['mean']:.1f} +- {100 * r['accuracy'][a]['std']:.1f} "
             f"[{100 * r['accuracy'][a]['majority']:.1f}]" for a in ATTACK_NAMES]
    lines.append(f"| {name} | " + " | ".join(cells)
                 + f" | {100 * r['deterministic_twin_test_accuracy']:.1f}"
                 f" | {r['train_time_s']:.0f} |")
  lines += ["", f"Concentration of {e['concentration_samples']} sampled input gradients "
            "per test image (mean [p10, p90]); R for independent uniform directions is "
            f"about {1 / np.sqrt(e['concentration_samples']):.2f}.", "",
            "| variant | mean resultant length R | mean pairwise cosine | vMF kappa |",
            "|---|---|---|---|"]
  for name, r in report["variants"].items():
    c = r["concentration"]
    lines.append(f"| {name} | " + " | ".join(
        f"{c[m]['mean']:.3g} [{c[m]['p10']:.3g}, {c[m]['p90']:.3g}]"
        for m in ("mean_resultant_length", "mean_cosine", "vmf_kappa")) + " |")
  lines += ["", f"Transferability among {e['transfer_networks']} sample networks: fooling "
            f"rate (%) of PGD-{e['transfer_steps']} examples made on network i against "
            "network j (among the points j classifies correctly).", ""]
  for name, r in report["variants"].items():
    t = r["transfer"]
    lines.append(f"- {name}: diagonal (same network) {100 * t['diagonal']:.1f}, "
                 f"off-diagonal (another network) {100 * t['off_diagonal']:.1f}")
  return "\n".join(lines) + "\n"


def plot(report: dict, path: str) -> None:
  """Accuracies with their spread, gradient concentration, and the transfer matrices."""
  variants = list(report["variants"])
  fig, axes = plt.subplots(1, 2 + len(variants), figsize=(4.4 * (2 + len(variants)), 3.8),
                           constrained_layout=True)
  width = 0.8 / len(variants)
  for i, name in enumerate(variants):
    acc = report["variants"][name]["accuracy"]
    axes[0].bar(np.arange(3) + i * width, [100 * acc[a]["mean"] for a in ATTACK_NAMES], width,
                yerr=[100 * acc[a]["std"] for a in ATTACK_NAMES], capsize=3, label=name)
    c = report["variants"][name]["concentration"]
    measures = ("mean_resultant_length", "mean_cosine")
    means = np.array([c[m]["mean"] for m in measures])
    err = np.array([[c[m]["mean"] - c[m]["p10"] for m in measures],
                    [c[m]["p90"] - c[m]["mean"] for m in measures]])
    axes[1].bar(np.arange(2) + i * width, means, width, yerr=err, capsize=3, label=name)
  axes[0].set_xticks(np.arange(3) + width * (len(variants) - 1) / 2, ATTACK_NAMES)
  axes[0].set_ylabel("accuracy (%), mean +- std over draws")
  axes[0].set_ylim(0, 115)
  axes[0].set_title(f"eps = {report['eval']['eps']}")
  axes[0].legend(loc="upper right", fontsize=8)
  axes[1].set_xticks(np.arange(2) + width * (len(variants) - 1) / 2, ["R", "mean cosine"])
  axes[1].axhline(1 / np.sqrt(report["eval"]["concentration_samples"]), color="gray",
                  linestyle=":", label="R of uniform directions")
  axes[1].set_ylim(0, 1.25)
  axes[1].set_title("gradient concentration (p10-p90)")
  axes[1].legend(loc="upper right", fontsize=8)
  for ax, name in zip(axes[2:], variants):
    rate = 100 * np.asarray(report["variants"][name]["transfer"]["rate"])
    image = ax.imshow(rate, vmin=0, vmax=100, cmap="viridis")
    for (i, j), v in np.ndenumerate(rate):
      ax.text(j, i, f"{v:.0f}", ha="center", va="center", color="w", fontsize=8)
    ax.set_xticks(range(len(rate)))
    ax.set_yticks(range(len(rate)))
    ax.set_title(f"{name}: fooling rate (%)")
    ax.set_xlabel("evaluated on network j")
    ax.set_ylabel("crafted on network i")
  fig.colorbar(image, ax=axes[2:], shrink=0.8)
  fig.savefig(path, dpi=120)
  plt.close(fig)


main = pipeline.report_main("graddiv", run)


if __name__ == "__main__":
  pipeline.start(define_flags, main)
