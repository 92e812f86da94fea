r"""Trains several defenses with one config and prints one table of test accuracies.

  python -m experiments.defenses_compare --workdir=runs/defenses_compare
  python -m experiments.defenses_compare --config.compare='("pgd_at","trades")'
  # an entry "<defense>+<head>" also sets the model's output map:
  python -m experiments.defenses_compare \
      --config.compare='("pgd_at","pgd_at+tanh","pgd_at+bounded_logit","logit_squeeze")'

Each entry trains its defense at its defaults against its paper's attack at the
shared config.budget (`experiments.configs.default.defense_section`), by
`experiments.pipeline.train_and_report` in <workdir>/<entry> (resumable); the
table goes to stdout and <workdir>/compare.json.
"""

import os

from absl import flags

from experiments import pipeline
from experiments.configs.default import defense_section
from jaxrobust import eval as jr_eval
from jaxrobust.defenses.registry import DEFENSES
from jaxrobust.models.heads import HEADS


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so tests can import several binaries."""
  pipeline.define_config_flags(
      "defenses_compare.py", "runs/defenses_compare",
      "Shared configuration; config.compare lists the defense names, config.budget "
      "their attack's eps, step_size and steps.")


FLAGS = flags.FLAGS


def parse_entry(entry: str) -> tuple[str, str]:
  """Parses "<defense>[+<head>]" into (defense, head); head is "" when absent."""
  defense, _, head = entry.partition("+")
  if defense not in DEFENSES or (head and head not in HEADS):
    raise ValueError(f"config.compare entry {entry!r}: want <defense>[+<head>] with a "
                     f"defense in {tuple(DEFENSES)} and a head in {tuple(HEADS)}.")
  return defense, head


def _train_all(base, workdir: str) -> dict[str, dict]:
  """Trains and reports every entry of base.compare; returns name -> table row."""
  entries = [parse_entry(name) for name in base.compare]  # a typo fails before any run
  rows = {}
  for name, (defense, head) in zip(base.compare, entries):
    config = base.copy_and_resolve_references()
    with config.unlocked():
      config.defense = defense_section(defense, config.budget)
      if head:
        config.model.head = head
    report = pipeline.train_and_report(config, os.path.join(workdir, name))
    rows[name] = {"clean": report["clean_accuracy"], **report["robust_accuracy"],
                  "train_time_s": report["train_time_s"],
                  "co_epoch": report["catastrophic_overfitting_epoch"]}
  return rows


def run(base, workdir: str) -> dict[str, dict]:
  """Trains every entry of base.compare; writes compare.json, prints the table."""
  if not base.compare:
    raise ValueError("config.compare must list at least one <defense>[+<head>], got ().")
  pipeline.check_training_config(base)
  rows = _train_all(base, workdir)
  jr_eval.write_json(os.path.join(workdir, "compare.json"), rows)
  columns = [k for k in next(iter(rows.values())) if k not in ("train_time_s", "co_epoch")]
  print(f"\n{base.dataset}, eps={base.eval.eps}, {base.epochs} epochs")
  width = max(9, *map(len, rows))
  print(f"{'defense':{width}} " + " ".join(f"{c:>8}" for c in columns) + "  train_s")
  for name, r in rows.items():
    print(f"{name:{width}} " + " ".join(f"{100 * r[c]:7.2f}%" for c in columns)
          + f"  {r['train_time_s']:7.0f}")
  return rows


main = pipeline.report_main("defenses_compare", run, report=None)


if __name__ == "__main__":
  pipeline.start(define_flags, main)
