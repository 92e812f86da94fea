r"""Stability of SAM near saddle points: test problems, trajectories, escape times.

Kim et al. (2023) show that under the SAM dynamics with the unnormalised ascent
step w + rho grad L(w), a step multiplies the component of w - w* along an
eigenvector of the Hessian with eigenvalue lambda by 1 - lr lambda (1 + rho
lambda). Along a negative eigenvalue (the saddle's escape directions) this
contracts only when 1 + rho lambda < 0, i.e. rho > -1/lambda. So the saddle w*
is an attractor only when rho exceeds -1/lambda for EVERY negative eigenvalue
lambda: the threshold is max over lambda < 0 of -1/lambda, set by the negative
eigenvalue closest to 0 (the flattest escape direction), not by the most
negative one. With noisy gradients SAM also escapes saddles more slowly than SGD.

On f = x^2 - y^2 (lambda = +-2, one negative eigenvalue, threshold rho = 1/2)
one SAM step multiplies y by 1 + 2 lr (1 - 2 rho): GD escapes along y, SAM with
rho > 1/2 contracts to the saddle. Foret et al.'s normalised step rho g/||g||
contracts y as soon as the distance to the saddle drops below rho, so it is
trapped too, for any rho large enough compared with the starting point. Beale's
function has a saddle at (0, 1) (lambda = +-27.75, one negative eigenvalue:
threshold 1/27.75 = 0.036) and its global minimum at (3, 0.5).

The problem settings are data: `PROBLEMS` holds this project's (starts near
the saddles, escape-time tables), and experiments/configs/sam_stability.py
holds them and the authors' demonstration settings (github.com/Harry24k/sam-saddle).

References: Kim, Park, Choi, Lee, "Stability Analysis of Sharpness-Aware
Minimization", arXiv:2301.06308, and the authors' code,
github.com/Harry24k/sam-saddle; Foret et al., ICLR 2021.
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
# minimum (3, 0.5) is 3.04 away.
STABILITY_LOSSES = {
    "saddle": dict(loss=saddle, saddle=(0.0, 0.0), minimum=None,
                   escaped=lambda ws: np.abs(ws[:, 1]) > 1.0),
    "beale": dict(loss=beale, saddle=(0.0, 1.0), minimum=(3.0, 0.5),
                  escaped=lambda ws: np.linalg.norm(ws - np.array([0.0, 1.0]), axis=1) > 1.0),
}

# This project's settings: starts near each saddle; usam_rhos bracket Kim et
# al.'s threshold (1/2 on x^2 - y^2, 0.036 on Beale).
# `saddle` and `escaped` are repeated from STABILITY_LOSSES for readers of one spec.
PROBLEMS = {
    "saddle": dict(loss="saddle", w0=(0.5, 1e-3), lr=0.05, steps=400, noise=0.01,
                   sam_rhos=(0.005, 0.05, 0.2, 1.0), usam_rhos=(0.2, 0.4, 0.6, 1.0),
                   saddle=STABILITY_LOSSES["saddle"]["saddle"], escaped=STABILITY_LOSSES["saddle"]["escaped"]),
    "beale": dict(loss="beale", w0=(0.3, 1.2), lr=0.01, steps=3000, noise=0.05,
                  sam_rhos=(0.01, 0.05, 0.1, 0.2), usam_rhos=(0.01, 0.02, 0.05),
                  saddle=STABILITY_LOSSES["beale"]["saddle"], escaped=STABILITY_LOSSES["beale"]["escaped"]),
}


def escape_step(mask: np.ndarray) -> int | None:
  """First step outside the neighbourhood after being inside it, or None.

  mask[t]: outside the saddle's neighbourhood at step t. A run that starts
  inside escapes at its first step outside; one that starts outside (e.g. the
  authors' Beale start) escapes only if it comes within the neighbourhood and
  leaves it again.
  """
  inside = first_step(~mask)
  if inside is None:
    return None
  later = first_step(mask[inside:])
  return None if later is None else inside + later


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
  hit = first_step(stop)
  return None if hit is None else hit + 1


def run_problem(name: str, spec, seeds: int) -> tuple[list[dict], dict]:
  """Rows of the escape table and the trajectories to plot, for one problem.

  spec: a mapping with `loss` (a name in STABILITY_LOSSES), `w0`, `lr`, `steps`, `noise`
  (0: no SGD run), `sam_rhos`, `usam_rhos` (either may be empty) and optionally
  `gd_until_converged`: when true, GD runs until the authors' GD_STOP rule
  stops it (`steps` is then the cap) and every run takes as many steps (their
  Beale experiment).
  """
  problem = STABILITY_LOSSES[spec["loss"]]
  loss = problem["loss"]
  w0 = jnp.asarray(spec["w0"], float)  # float64 under jax.enable_x64, else float32
  steps = int(spec["steps"])
  minimum = problem["minimum"]
  if spec.get("gd_until_converged", False):
    if minimum is None:
      raise ValueError(f"gd_until_converged needs a known minimum; {spec['loss']!r} has none.")
    gd = np.asarray(jax.jit(functools.partial(
        trajectory, loss, make_optimizer("gd", spec["lr"], 0.0), steps=steps))(w0))
    losses = np.asarray(jax.jit(jax.vmap(loss))(jnp.asarray(gd)))
    converged = gd_converged_step(gd, losses, minimum, **GD_STOP)
    steps = steps if converged is None else converged
  runs = [("gd", 0.0, 0.0)] + ([("sgd", 0.0, spec["noise"])] if spec["noise"] else [])
  runs += [(kind, float(rho), 0.0) for kind in ("sam", "usam") for rho in spec[kind + "_rhos"]]
  rows, paths = [], {}
  for kind, rho, noise in runs:
    tx = make_optimizer(kind, spec["lr"], rho)
    run = jax.jit(functools.partial(trajectory, loss, tx, steps=steps, noise=noise))
    n = seeds if noise else 1
    escapes, finals = [], []
    for seed in range(n):
      ws = np.asarray(run(w0, key=jax.random.key(seed)))
      escapes.append(escape_step(problem["escaped"](ws)))
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


def run(seeds: int, problems=None) -> tuple[list[dict], dict[str, dict[str, np.ndarray]]]:
  """Escape-table rows of every problem and, per problem, the trajectories
  [steps + 1, 2] to plot. problems: name -> spec (`run_problem`); default PROBLEMS."""
  problems = PROBLEMS if problems is None else problems
  rows, paths = [], {}
  for name, spec in problems.items():
    rows_, paths[name] = run_problem(name, spec, seeds)
    rows += rows_
  return rows, paths
