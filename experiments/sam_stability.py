r"""Stability of SAM near saddle points: GD, SGD and SAM on x^2 - y^2 and Beale.

The problems, trajectories and escape detection are `jaxrobust.optim.stability`.
Kim et al.'s threshold: a saddle attracts (unnormalised) SAM only when rho
exceeds -1/lambda for every negative Hessian eigenvalue lambda, i.e. rho >
-1/lambda for the negative eigenvalue closest to 0. Writes
<workdir>/sam_stability.png (trajectories), sam_stability.md (the escape-time
table) and sam_stability.json. The settings are a config
(experiments/configs/sam_stability.py; `:authors` is the authors' demonstration).

  python -m experiments.sam_stability --workdir=runs/sam_stability
  python -m experiments.sam_stability --config=experiments/configs/sam_stability.py:authors \
      --workdir=runs/sam_stability_authors

References: Kim, Park, Choi, Lee, "Stability Analysis of Sharpness-Aware
Minimization", arXiv:2301.06308; Foret et al., ICLR 2021.
"""

from __future__ import annotations

import json
import os

import contextlib

from absl import flags
import jax
import jax.numpy as jnp
import numpy as np

from experiments import pipeline
from jaxrobust import _checks
from jaxrobust.optim import stability


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so tests can import several binaries."""
  pipeline.define_config_flags("sam_stability.py", "runs/sam_stability")


FLAGS = flags.FLAGS


def plot(all_paths: dict, problems, limits, path: str) -> None:
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  names = list(all_paths)
  fig, axes = plt.subplots(2, len(names), figsize=(7 * len(names), 11), squeeze=False)
  # Distance to the saddle over time: escape (growth) vs attraction (decay).
  for ax, name in zip(axes[1], names):
    saddle = np.asarray(stability.STABILITY_LOSSES[problems[name]["loss"]]["saddle"])
    for label, ws in all_paths[name].items():
      ax.semilogy(np.maximum(np.linalg.norm(ws - saddle, axis=1), 1e-30), lw=1.2, label=label)
    ax.set_ylim(1e-12, 1e3)
    ax.axhline(1.0, color="k", lw=0.5, ls="--")
    ax.set_xlabel("step")
    ax.set_title(f"{name}: distance to the saddle {tuple(saddle)}")
    ax.legend(fontsize=7, loc="best")
  for ax, name in zip(axes[0], names):
    spec, problem = problems[name], stability.STABILITY_LOSSES[problems[name]["loss"]]
    lim_x, lim_y = limits[name]
    gx, gy = np.meshgrid(np.linspace(*lim_x, 200), np.linspace(*lim_y, 200))
    z = np.asarray(jax.vmap(problem["loss"])(jnp.stack([gx.ravel(), gy.ravel()], 1)))
    z = z.reshape(gx.shape)
    ax.contour(gx, gy, np.log1p(z - z.min()) if problem["minimum"] is not None else z,
               levels=30, cmap="Greys", linewidths=0.5)
    for label, ws in all_paths[name].items():
      ws = np.clip(ws, [lim_x[0], lim_y[0]], [lim_x[1], lim_y[1]])
      ax.plot(ws[:, 0], ws[:, 1], lw=1.2, label=label)
    ax.plot(*problem["saddle"], "kx", ms=10, mew=2)
    if problem["minimum"] is not None:
      ax.plot(*problem["minimum"], "k*", ms=10)
    ax.plot(*spec["w0"], "ko", ms=5)
    ax.set_xlim(lim_x)
    ax.set_ylim(lim_y)
    ax.set_title(f"{name}: lr={spec['lr']:g}, start {tuple(spec['w0'])} (x = saddle)")
    ax.legend(fontsize=7, loc="best")
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def markdown_table(rows: list[dict]) -> str:
  cols = ["problem", "optimizer", "rho", "lr", "steps", "escaped", "median_escape_step",
          "final_x", "final_y", "final_loss", "final_distance_to_saddle",
          "final_distance_to_minimum"]
  lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
  for r in rows:
    cells = []
    for c in cols:
      v = r[c]
      if v is None:
        v = "-" if c == "final_distance_to_minimum" else "never"
      cells.append(f"{v:.4g}" if isinstance(v, float) else str(v))
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


def check_config(config) -> None:
  """Bad counts, rates and radii fail before any trajectory runs."""
  pipeline.check_config(config, ints={"seeds": 1})
  for name, problem in config.problems.items():
    _checks.check_choice(f"config.problems.{name}.loss", problem.loss,
                         tuple(stability.STABILITY_LOSSES))
    pipeline.check_config(config, ints={f"problems.{name}.steps": 1},
                          reals={f"problems.{name}.lr": pipeline.POSITIVE,
                                 f"problems.{name}.noise": pipeline.NONNEGATIVE})
    for field in ("sam_rhos", "usam_rhos"):
      for i, rho in enumerate(problem[field]):
        _checks.check_real(f"config.problems.{name}.{field}[{i}]", rho, low=0)
    if name not in config.plot_limits:
      raise ValueError(f"config.plot_limits has no entry for problem {name!r}; it has "
                       f"{tuple(config.plot_limits)}.")


def run(config, workdir: str) -> list[dict]:
  """Runs every problem of the config; writes the table, JSON and figure; returns the rows."""
  check_config(config)
  os.makedirs(workdir, exist_ok=True)
  problems = {name: section.to_dict() for name, section in config.problems.items()}
  with jax.enable_x64(True) if config.float64 else contextlib.nullcontext():
    rows, all_paths = stability.run(config.seeds, problems)
  table = markdown_table(rows)
  print(table)
  with open(os.path.join(workdir, "sam_stability.md"), "w") as f:
    f.write("Escape: |y| > 1 on x^2 - y^2; distance > 1 from the saddle (0, 1) on Beale, "
            "after having been within it. 'never' = not within the step budget (or not in "
            "every seeded run).\n\n")
    f.write(table + "\n")
  with open(os.path.join(workdir, "sam_stability.json"), "w") as f:
    json.dump(rows, f, indent=2)
  limits = {name: config.plot_limits[name] for name in problems}
  plot(all_paths, problems, limits, os.path.join(workdir, "sam_stability.png"))
  print("wrote", workdir)
  return rows


main = pipeline.report_main("sam_stability", run, report=None)


if __name__ == "__main__":
  pipeline.start(define_flags, main)
