r"""Robustness measures over a population of models, rank-correlated with the robust
generalization gap (robust train accuracy - robust test accuracy).

  python -m experiments.measures --workdir=runs/measures
  python -m experiments.measures --config=experiments/configs/measures.py:cifar10 \
      --config.train.data_dir=DIR --workdir=runs/measures_cifar10

Trains config.grid's members as one population (`jaxrobust.train.population`,
resumable under <workdir>/population; with config.sequential_axes, one population per
setting of those axes, <workdir>/population_<k>), measures every member on fixed train points
(`jaxrobust.measures.compute_population`), and writes to the workdir:
  measures.json       per member: hyperparameters, robust train / test accuracy, gap,
                      every measure; and the timings;
  correlations.json   per measure: Kendall's tau-b and tau-a with the gap and the
                      granulated Kendall coefficient (tau-a, constant groups 0, as
                      Jiang et al.; per axis and their mean);
  correlations.md     the table sorted by |tau|, then by |granulated Kendall|;
  scatter_<measure>.png  the strongest measures against the gap.

References: Kim, Park, Choi, Lee, "Fantastic Robustness Measures: The Secrets of
Robust Generalization", NeurIPS 2023; Jiang et al., "Fantastic Generalization
Measures and Where to Find Them", ICLR 2020.
"""

from __future__ import annotations

import json
import os
import time

import jax
import jax.numpy as jnp
import matplotlib
import ml_collections
import numpy as np
from absl import flags

from experiments import pipeline
from jaxrobust import _checks, data, measures, models
from jaxrobust.attacks.pgd import madry_pgd
from jaxrobust.train import loop, population
from jaxrobust.train.monitor import subset_indices

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so tests can import several binaries."""
  pipeline.define_config_flags("measures.py", "runs/measures",
                               "Measures study configuration (ml_collections file).")


FLAGS = flags.FLAGS


def initial_variables(result: population.PopulationResult):
  """The members' initial variables, stacked [N, ...]: each member's single run
  initialises from fold_in(key(seed), loop._INIT) (`loop.fit`, `population`)."""
  keys = jnp.stack([jax.random.key(int(c.seed)) for c in result.configs])
  shape = (1,) + tuple(result.info.input_shape)
  init = lambda k: result.model.init(jax.random.fold_in(k, loop._INIT),
                                     jnp.zeros(shape, jnp.float32), train=False)
  return jax.jit(jax.vmap(init))(keys)


def measure_population(config: ml_collections.ConfigDict,
                       result: population.PopulationResult) -> dict[str, np.ndarray]:
  """Every measure of config.measures for every member, {measure: [N]}."""
  m = config.measures
  train_ds = result.train
  idx = subset_indices(len(train_ds.labels), m.num_examples)
  x = data.to_float(train_ds.images[idx])
  y = jnp.asarray(train_ds.labels[idx])
  eps = m.eps or config.train.eval.eps
  stacked, stacked_init = result.variables(), initial_variables(result)
  model = result.model
  if "batch_stats" in stacked and type(model) is models.SmallCNN:
    # Conv-BatchNorm folds exactly: every measure sees the weights the member applies.
    fold = jax.vmap(lambda v: models.fold_batchnorm(model, v)[1])
    first = jax.tree.map(lambda leaf: leaf[0], stacked)
    model, stacked, stacked_init = (models.fold_batchnorm(model, first)[0],
                                    {"params": fold(stacked)}, {"params": fold(stacked_init)})
  params = stacked["params"]
  model_state = {k: v for k, v in stacked.items() if k != "params"} or None
  if model_state is None:
    apply_fn = lambda p, z: model.apply({"params": p}, z, train=False)
  else:
    apply_fn = lambda p, z, state: model.apply({"params": p, **state}, z, train=False)
  return measures.compute_population(
      list(m.names), apply_fn, params, stacked_init["params"], x, y,
      key=jax.random.key(config.seed), attack=madry_pgd(eps=eps, steps=m.pgd_steps),
      options={k: dict(v) for k, v in m.options.to_dict().items()}, chunk=m.chunk,
      model_state=model_state)


def scatter(values: np.ndarray, gap: np.ndarray, colour: np.ndarray, name: str, tau: float,
            colour_name: str, path: str) -> None:
  """One measure against the gap, coloured by a hyperparameter."""
  fig, ax = plt.subplots(figsize=(4.5, 3.5))
  points = ax.scatter(values, gap, c=colour, cmap="viridis", s=18)
  fig.colorbar(points, ax=ax, label=colour_name)
  ax.set_xlabel(name)
  ax.set_ylabel("robust generalization gap")
  ax.set_title(f"{name}: Kendall tau {tau:+.3f}")
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def split(hparams: dict[str, list], sequential: list[str]) -> list[tuple[str, list[int]]]:
  """[(workdir name, member indices)]: one population per setting of the `sequential`
  axes (trained one after another, to bound memory), or all in "population"."""
  n = len(next(iter(hparams.values())))
  if not sequential:
    return [("population", list(range(n)))]
  groups: dict[tuple, list[int]] = {}
  for i in range(n):
    groups.setdefault(tuple(hparams[a][i] for a in sequential), []).append(i)
  return [(f"population_{k}", idx) for k, idx in enumerate(groups.values())]


def run(config: ml_collections.ConfigDict, workdir: str) -> list[dict]:
  """Trains, measures, correlates; writes the workdir's files; returns the table."""
  grid = {k: list(v) for k, v in config.grid.to_dict().items()}
  hparams = population.grid(**grid)
  axes = list(config.granulated_axes)
  m = config.measures
  # Bad names and options fail before training.
  measures.MEASURES.make_all(list(m.names), {k: dict(v) for k, v in m.options.to_dict().items()})
  for field in ("num_examples", "pgd_steps", "chunk"):
    _checks.check_int_at_least(f"config.measures.{field}", m[field], 1)
  _checks.check_real("config.measures.eps", m.eps, low=0)
  for axis in axes:
    _checks.check_choice("granulated axis", axis, tuple(grid))
  if not config.train.get("robust_gap", {}).get("num_examples", 0):
    raise ValueError("config.train.robust_gap.num_examples must be >= 1: the robust "
                     "generalization gap is what the measures are correlated with.")
  sequential = list(config.get("sequential_axes", []))
  for axis in sequential:
    _checks.check_choice("sequential axis", axis, tuple(grid))
  os.makedirs(workdir, exist_ok=True)
  t0 = time.time()
  train_s, parts, order, last = 0.0, [], [], []
  for name, idx in split(hparams, sequential):
    start = time.time()
    result = population.fit_population(config.train, {k: [v[i] for i in idx]
                                                      for k, v in hparams.items()},
                                       os.path.join(workdir, name))
    train_s += time.time() - start
    parts.append(measure_population(config, result))
    order += idx
    last += [h[-1] for h in result.histories]
  values = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
  hparams = {k: [v[i] for i in order] for k, v in hparams.items()}  # members' order
  t2 = time.time()
  t1 = t0 + train_s
  gap = np.asarray([r["robust_gap"] for r in last])
  table = measures.correlation_table(values, gap, hparams, axes)
  t3 = time.time()
  timings = {"train_s": train_s, "measure_s": t2 - t1, "correlate_s": t3 - t2,
             "total_s": t3 - t0, "members": len(gap), "populations": len(parts)}
  members = [{**{k: hparams[k][i] for k in hparams},
              **{k: last[i][k] for k in ("robust_train_accuracy", "robust_test_accuracy",
                                         "robust_gap", "test_accuracy") if k in last[i]},
              **{k: float(v[i]) for k, v in values.items()}} for i in range(len(gap))]
  with open(os.path.join(workdir, "measures.json"), "w") as f:
    json.dump({"members": members, "grid": grid, "timings": timings,
               "config": json.loads(config.to_json())}, f, indent=1)
  _json_safe = lambda v: None if isinstance(v, float) and np.isnan(v) else v
  with open(os.path.join(workdir, "correlations.json"), "w") as f:
    json.dump([{k: _json_safe(v) for k, v in r.items()} for r in table], f, indent=1)
  by_granulated = measures.sort_rows(table, "granulated")
  with open(os.path.join(workdir, "correlations.md"), "w") as f:
    f.write(f"# Measures vs the robust generalization gap ({len(gap)} models; axes "
            f"{', '.join(f'{k} {v}' for k, v in grid.items())})\n\n"
            f"Timings: train {timings['train_s']:.0f} s, measure {timings['measure_s']:.0f} s, "
            f"total {timings['total_s']:.0f} s. Gap: mean {gap.mean():+.3f}, "
            f"range [{gap.min():+.3f}, {gap.max():+.3f}].\n\n"
            "## Sorted by |Kendall tau|\n\n" + measures.format_markdown(table) +
            "\n## Sorted by |granulated Kendall|\n\n" + measures.format_markdown(by_granulated))
  colour_axis = axes[-1] if axes else next(iter(hparams))
  for row in table[:config.scatter_plots]:
    name = row["measure"]
    scatter(values[name], gap, np.asarray(hparams[colour_axis], float), name, row["tau"],
            colour_axis, os.path.join(workdir, f"scatter_{name}.png"))
  return table


def run_and_print(config: ml_collections.ConfigDict, workdir: str) -> list[dict]:
  """`run`, then the strongest measures' table and the timings on stdout."""
  table = run(config, workdir)
  print(measures.format_markdown(table, limit=15))
  with open(os.path.join(workdir, "measures.json")) as f:
    print("timings:", json.load(f)["timings"])
  return table


main = pipeline.report_main("measures", run_and_print, report=None)


if __name__ == "__main__":
  pipeline.start(define_flags, main)
