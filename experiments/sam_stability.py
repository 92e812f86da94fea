r"""Stability of SAM near saddle points: GD, SGD and SAM on x^2 - y^2 and Beale.

The problems, trajectories and escape detection are `jaxrobust.optim.stability`
(Kim et al.'s threshold rho > -1/lambda_min, where a saddle attracts SAM).
Writes <workdir>/sam_stability.png (trajectories), sam_stability.md (the
escape-time table) and sam_stability.json.

  python -m experiments.sam_stability --workdir=runs/sam_stability

References: Kim, Park, Choi, Lee, "Stability Analysis of Sharpness-Aware
Minimization", arXiv:2301.06308; Foret et al., ICLR 2021.
"""

from __future__ import annotations

import json
import os

from absl import app, flags
import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust.optim.stability import PROBLEMS, run


def define_flags() -> None:
  """Defines the flags; only when run as a binary, so tests can import several binaries."""
  flags.DEFINE_string("workdir", "runs/sam_stability", "Output directory.")
  flags.DEFINE_integer("seeds", 5, "Seeds for the stochastic (SGD) runs.")


FLAGS = flags.FLAGS


def plot(all_paths: dict, path: str) -> None:
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  fig, axes = plt.subplots(1, 3, figsize=(19, 5.5))
  # Distance to the saddle over time: escape (growth) vs attraction (decay).
  ax = axes[1]
  for label, ws in all_paths["saddle"].items():
    ax.semilogy(np.maximum(np.linalg.norm(ws, axis=1), 1e-30), lw=1.2, label=label)
  ax.set_ylim(1e-12, 1e3)
  ax.axhline(1.0, color="k", lw=0.5, ls="--")
  ax.set_xlabel("step")
  ax.set_title("x^2 - y^2: distance to the saddle (escape: |y| > 1)")
  ax.legend(fontsize=7, loc="best")
  for ax, (name, paths) in zip(axes[[0, 2]], all_paths.items()):
    spec = PROBLEMS[name]
    if name == "saddle":
      lim_x, lim_y = (-0.6, 0.6), (-1.2, 1.2)
    else:
      lim_x, lim_y = (-0.5, 3.5), (-0.5, 1.6)
    gx, gy = np.meshgrid(np.linspace(*lim_x, 200), np.linspace(*lim_y, 200))
    z = np.asarray(jax.vmap(spec["loss"])(jnp.stack([gx.ravel(), gy.ravel()], 1)))
    z = z.reshape(gx.shape)
    ax.contour(gx, gy, np.log1p(z - z.min()) if name == "beale" else z, levels=30,
               cmap="Greys", linewidths=0.5)
    for label, ws in paths.items():
      ws = np.clip(ws, [lim_x[0], lim_y[0]], [lim_x[1], lim_y[1]])
      ax.plot(ws[:, 0], ws[:, 1], lw=1.2, label=label)
    ax.plot(*spec["saddle"], "kx", ms=10, mew=2)
    ax.plot(*spec["w0"], "ko", ms=5)
    ax.set_xlim(lim_x)
    ax.set_ylim(lim_y)
    ax.set_title(f"{name}: lr={spec['lr']}, start {spec['w0']} (x = saddle)")
    ax.legend(fontsize=7, loc="best")
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def markdown_table(rows: list[dict]) -> str:
  cols = ["problem", "optimizer", "rho", "lr", "escaped", "median_escape_step",
          "final_x", "final_y", "final_loss", "final_distance_to_saddle"]
  lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
  for r in rows:
    cells = []
    for c in cols:
      v = r[c]
      cells.append("never" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v))
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


def main(argv):
  del argv
  os.makedirs(FLAGS.workdir, exist_ok=True)
  rows, all_paths = run(FLAGS.seeds)
  table = markdown_table(rows)
  print(table)
  with open(os.path.join(FLAGS.workdir, "sam_stability.md"), "w") as f:
    f.write("Escape: |y| > 1 on x^2 - y^2; distance > 1 from the saddle (0, 1) on Beale. "
            "'never' = not within the step budget (or not in every seeded run).\n\n")
    f.write(table + "\n")
  with open(os.path.join(FLAGS.workdir, "sam_stability.json"), "w") as f:
    json.dump(rows, f, indent=2)
  plot(all_paths, os.path.join(FLAGS.workdir, "sam_stability.png"))
  print("wrote", FLAGS.workdir)


if __name__ == "__main__":
  define_flags()
  app.run(main)
