"""The glue shared by the experiment binaries: train, evaluate, report."""

from __future__ import annotations

import os
from typing import Any

import jax
import ml_collections

from jaxrobust import attacks, eval as jr_eval, train

_REPORT_KEY = 7  # fold_in tag of the final evaluation stream


# config.eval.attacks names -> (report name, attack) from the eval section.
EVAL_ATTACKS = {
    "pgd": lambda e: (f"pgd{e.steps}", attacks.PGD(eps=e.eps, step_size=e.step_size,
                                                   steps=e.steps)),
    "fgsm": lambda e: ("fgsm", attacks.FGSM(eps=e.eps)),
}


def eval_attacks(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """The attacks of the final report (config.eval.attacks, default ("pgd",)),
  named like "pgd20"."""
  e = config.eval
  suite = {}
  for name in e.get("attacks", ("pgd",)):
    if name not in EVAL_ATTACKS:
      raise ValueError(f"Unknown config.eval.attacks entry {name!r}; valid choices: "
                       f"{tuple(EVAL_ATTACKS)}.")
    label, attack = EVAL_ATTACKS[name](e)
    suite[label] = attack.validate()
  return suite


def train_and_report(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Trains (resuming if possible), evaluates on the test split, writes the report.

  Returns the report written to <workdir>/report.json.
  """
  suite = eval_attacks(config)  # bad eval settings fail before training
  result = train.fit(config, workdir)
  report = jr_eval.robustness_report(
      result.model, train.variables(result.state), result.test.images,
      result.test.labels, suite, key=jax.random.fold_in(result.key, _REPORT_KEY),
      batch_size=config.eval_batch_size, progress=config.progress)
  last = result.history[-1]
  if result.catastrophic_overfitting is not None:
    print(f"catastrophic overfitting at epoch {result.catastrophic_overfitting}")
  report.update({
      "catastrophic_overfitting_epoch": result.catastrophic_overfitting,
      "dataset": config.dataset, "model": config.model.to_dict(),
      "defense": config.defense.to_dict(), "eval": config.eval.to_dict(),
      "epochs": config.epochs, "seed": config.seed,
      "final_train_loss": last["train_loss"],
      "train_time_s": sum(r["train_time_s"] for r in result.history),
      "devices": [str(d) for d in jax.devices()],
  })
  jr_eval.write_json(os.path.join(workdir, "report.json"), report)
  jr_eval.plot_training_curves(result.history, os.path.join(workdir, "training_curves.png"),
                               title=f"{config.defense.name} / {config.model.name} / "
                                     f"{config.dataset}")
  rows = {"clean": report["clean_accuracy"], **report["robust_accuracy"]}
  print(jr_eval.format_table(
      rows, title=f"{config.dataset} test split ({report['num_examples']} examples), "
                  f"eps={config.eval.eps}"))
  print(f"report: {os.path.join(workdir, 'report.json')}")
  return report
