r"""Stability of SAM near saddle points: test problems, trajectories, escape times.

Kim et al. (2023) prove that under the SAM dynamics with the ascent step
w + rho grad L(w) a saddle point becomes an attractor once rho > -1/lambda_min
(lambda_min < 0, the Hessian's most negative eigenvalue), and that with noisy
gradients SAM escapes saddles more slowly than SGD. On f = x^2 - y^2
(lambda = +-2, threshold rho = 1/2) one SAM step multiplies y by
1 + 2 lr (1 - 2 rho): GD escapes along y, SAM with rho > 1/2 contracts to the
saddle. Foret et al.'s normalised step rho g/||g|| contracts y as soon as the
distance to the saddle drops below rho, so it is trapped too, for any rho
large enough compared with the starting point. Beale's function has a saddle
at (0, 1) (lambda = +-27.75, threshold 0.036) and its global minimum at
(3, 0.5).

References: Kim, Park, Choi, Lee, "Stability Analysis of Sharpness-Aware
Minimization", arXiv:2301.06308; Foret et al., ICLR 2021.
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrobust.optim.sam import sam


def saddle(w: jax.Array) -> jax.Array:
  """x^2 - y^2: a strict saddle at the origin (Hessian eigenvalues +-2)."""
  return w[0] ** 2 - w[1] ** 2


def beale(w: jax.Array) -> jax.Array:
  """Beale's function: minimum 0 at (3, 0.5), a saddle at (0, 1)."""
  x, y = w[0], w[1]
  return ((1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2
          + (2.625 - x + x * y ** 3) ** 2)


def make_optimizer(kind: str, lr: float, rho: float) -> optax.GradientTransformation:
  """gd / sgd: plain gradient steps; sam: Foret et al.; usam: w + rho g (Kim et al.)."""
  if kind in ("gd", "sgd"):
    return optax.sgd(lr)
  if kind in ("sam", "usam"):
    return sam(optax.sgd(lr), rho, normalize=kind == "sam")
  raise ValueError(f"Unknown kind {kind!r}; valid choices: gd, sgd, sam, usam.")


def trajectory(loss: Callable[[jax.Array], jax.Array], tx: optax.GradientTransformation,
               w0: jax.Array, steps: int, *, noise: float = 0.0,
               key: jax.Array | None = None) -> jax.Array:
  """Iterates [steps + 1, 2] of tx on loss from w0 (pure; the caller jits).

  noise > 0 adds N(0, noise^2) to the gradient, the same draw for SAM's two
  gradients of one step (one minibatch serves both in SAM).
  """
  grad = jax.grad(loss)
  key = jax.random.key(0) if key is None else key

  def step(carry, t):
    w, state = carry
    xi = noise * jax.random.normal(jax.random.fold_in(key, t), w.shape)
    updates, state = tx.update(grad(w) + xi, state, w, grad_fn=lambda p: grad(p) + xi)
    w = optax.apply_updates(w, updates)
    return (w, state), w

  _, ws = jax.lax.scan(step, (w0, tx.init(w0)), jnp.arange(steps))
  return jnp.concatenate([w0[None], ws])


def first_step(mask: np.ndarray) -> int | None:
  """Index of the first True, or None."""
  hits = np.flatnonzero(mask)
  return int(hits[0]) if hits.size else None


# Escape = leaving the saddle's neighbourhood: |y| > 1 on x^2 - y^2 (the loss
# is then < -1 + x^2); distance > 1 from the saddle (0, 1) on Beale, whose
# minimum (3, 0.5) is 3.04 away. usam_rhos bracket Kim et al.'s threshold
# -1/lambda_min (1/2 on x^2 - y^2, 0.036 on Beale).
PROBLEMS = {
    "saddle": dict(loss=saddle, w0=(0.5, 1e-3), saddle=(0.0, 0.0), lr=0.05, steps=400,
                   noise=0.01, sam_rhos=(0.005, 0.05, 0.2, 1.0),
                   usam_rhos=(0.2, 0.4, 0.6, 1.0),
                   escaped=lambda ws: np.abs(ws[:, 1]) > 1.0),
    "beale": dict(loss=beale, w0=(0.3, 1.2), saddle=(0.0, 1.0), lr=0.01, steps=3000,
                  noise=0.05, sam_rhos=(0.01, 0.05, 0.1, 0.2),
                  usam_rhos=(0.01, 0.02, 0.05),
                  escaped=lambda ws: np.linalg.norm(ws - np.array([0.0, 1.0]), axis=1) > 1.0),
}


def run_problem(name: str, seeds: int) -> tuple[list[dict], dict]:
  """Rows of the escape table and the trajectories to plot, for one problem."""
  spec = PROBLEMS[name]
  w0 = jnp.asarray(spec["w0"], jnp.float32)
  runs = [("gd", 0.0, 0.0), ("sgd", 0.0, spec["noise"])]
  runs += [(kind, rho, 0.0) for kind in ("sam", "usam") for rho in spec[kind + "_rhos"]]
  rows, paths = [], {}
  for kind, rho, noise in runs:
    tx = make_optimizer(kind, spec["lr"], rho)
    run = jax.jit(functools.partial(trajectory, spec["loss"], tx, steps=spec["steps"],
                                    noise=noise))
    n = seeds if noise else 1
    escapes, finals = [], []
    for seed in range(n):
      ws = np.asarray(run(w0, key=jax.random.key(seed)))
      escapes.append(first_step(spec["escaped"](ws)))
      finals.append(ws[-1])
      if seed == 0:
        paths[f"{kind} rho={rho:g}" if kind in ("sam", "usam") else kind] = ws
    done = [e for e in escapes if e is not None]
    rows.append({
        "problem": name, "optimizer": kind, "rho": rho, "lr": spec["lr"],
        "runs": n, "escaped": f"{len(done)}/{n}",
        "median_escape_step": float(np.median(done)) if len(done) == n else None,
        "final_x": float(np.mean([f[0] for f in finals])),
        "final_y": float(np.mean([f[1] for f in finals])),
        "final_loss": float(np.mean([float(spec["loss"](jnp.asarray(f))) for f in finals])),
        "final_distance_to_saddle": float(np.mean(
            [np.linalg.norm(f - np.asarray(spec["saddle"])) for f in finals])),
    })
  return rows, paths


def run(seeds: int) -> tuple[list[dict], dict[str, dict[str, np.ndarray]]]:
  """Escape-table rows of every problem and, per problem, the trajectories [steps + 1, 2] to plot."""
  rows, paths = [], {}
  for name in PROBLEMS:
    rows_, paths[name] = run_problem(name, seeds)
    rows += rows_
  return rows, paths
