r"""Stability of SAM near saddle points: GD, SGD and SAM on x^2 - y^2 and Beale.

The test functions, trajectories and escape detection are `jaxrobust.optim.stability`;
the grid, the authors' GD stopping rule and the tables are this study's.
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

import contextlib
import functools
import json
import os

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


# The authors' rule for "GD has converged" (github.com/Harry24k/sam-saddle,
# sam_stability/config.py and optim/runner.py): within pos_tol of the minimum;
# or within stall_tol of it with every move of the last stall_window iterates
# below stall_eps; or the loss's relative change below loss_rtol for
# loss_patience steps in a row.
GD_STOP = dict(pos_tol=0.15, stall_tol=0.55, stall_window=500, stall_eps=1e-5,
               loss_patience=80, loss_rtol=1e-8)


def gd_converged_step(ws: np.ndarray, losses: np.ndarray, minimum, *, pos_tol: float,
                      stall_tol: float, stall_window: int, stall_eps: float,
                      loss_patience: int, loss_rtol: float) -> int | None:
  """Steps GD takes until it stops by the GD_STOP rule, or None if it never does.

  ws: iterates [steps + 1, 2] (ws[0] the start); losses: [steps + 1], the loss
  at each iterate. The authors' loop tests after each step n = 1, 2, ... the
  iterate ws[n] (and the loss at ws[n - 1], the one its step computed).
  """
  n = len(ws) - 1
  dist = np.linalg.norm(ws[1:] - np.asarray(minimum), axis=1)      # after step 1..n
  moves = np.linalg.norm(np.diff(ws[1:], axis=0), axis=1)           # ws[j+1] -> ws[j+2]
  stalled = np.zeros(n, bool)
  if n >= stall_window:
    window_max = np.lib.stride_tricks.sliding_window_view(moves, stall_window - 1).max(1)
    stalled[stall_window - 1:] = window_max < stall_eps
  rel = np.abs(np.diff(losses[:n])) / (np.abs(losses[:n - 1]) + 1e-12)  # at steps 2..n
  flat = np.zeros(n, bool)
  if n > loss_patience:
    runs = np.lib.stride_tricks.sliding_window_view(rel < loss_rtol, loss_patience).all(1)
    flat[loss_patience:] = runs
  stop = (dist < pos_tol) | ((dist < stall_tol) & stalled) | flat
  hit = stability.first_step(stop)
  return None if hit is None else hit + 1


def run_problem(name: str, spec, seeds: int) -> tuple[list[dict], dict]:
  """Rows of the escape table and the trajectories to plot, for one problem.

  spec: a mapping with `loss` (a name in STABILITY_LOSSES), `w0`, `lr`, `steps`, `noise`
  (0: no SGD run), `sam_rhos`, `usam_rhos` (either may be empty) and optionally
  `gd_until_converged`: when true, GD runs until the authors' GD_STOP rule
  stops it (`steps` is then the cap) and every run takes as many steps (their
  Beale experiment).
  """
  problem = stability.STABILITY_LOSSES[spec["loss"]]
  loss = problem["loss"]
  w0 = jnp.asarray(spec["w0"], float)  # float64 under jax.enable_x64, else float32
  steps = int(spec["steps"])
  minimum = problem["minimum"]
  if spec.get("gd_until_converged", False):
    if minimum is None:
      raise ValueError(f"gd_until_converged needs a known minimum; {spec['loss']!r} has none.")
    gd_tx = stability.make_optimizer("gd", spec["lr"], 0.0)
    gd = np.asarray(jax.jit(functools.partial(stability.trajectory, loss, gd_tx, steps=steps))(w0))
    losses = np.asarray(jax.jit(jax.vmap(loss))(jnp.asarray(gd)))
    converged = gd_converged_step(gd, losses, minimum, **GD_STOP)
    steps = steps if converged is None else converged
  runs = [("gd", 0.0, 0.0)] + ([("sgd", 0.0, spec["noise"])] if spec["noise"] else [])
  runs += [(kind, float(rho), 0.0) for kind in ("sam", "usam") for rho in spec[kind + "_rhos"]]
  rows, paths = [], {}
  for kind, rho, noise in runs:
    tx = stability.make_optimizer(kind, spec["lr"], rho)
    run = jax.jit(functools.partial(stability.trajectory, loss, tx, steps=steps, noise=noise))
    n = seeds if noise else 1
    escapes, finals = [], []
    for seed in range(n):
      ws = np.asarray(run(w0, key=jax.random.key(seed)))
      escapes.append(stability.escape_step(problem["escaped"](ws)))
      finals.append(ws[-1])
      if seed == 0:
        paths[f"{kind} rho={rho:g}" if kind in ("sam", "usam") else kind] = ws
    done = [e for e in escapes if e is not None]
    rows.append({
        "problem": name, "optimizer": kind, "rho": rho, "lr": float(spec["lr"]),
        "steps": steps, "runs": n, "escaped": f"{len(done)}/{n}",
        "median_escape_step": float(np.median(done)) if len(done) == n else None,
        "final_x": float(np.mean([f[0] for f in finals])),
        "final_y": float(np.mean([f[1] for f in finals])),
        "final_loss": float(np.mean([float(loss(jnp.asarray(f))) for f in finals])),
        "final_distance_to_saddle": float(np.mean(
            [np.linalg.norm(f - np.asarray(problem["saddle"])) for f in finals])),
        "final_distance_to_minimum": None if minimum is None else float(np.mean(
            [np.linalg.norm(f - np.asarray(minimum)) for f in finals])),
    })
  return rows, paths


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
    rows, all_paths = [], {}
    for name, spec in problems.items():
      rows_, all_paths[name] = run_problem(name, spec, config.seeds)
      rows += rows_
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
