r"""Stability of SAM near saddle points: test functions, trajectories, escape detection.

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

This module holds the reusable parts (the test functions, `trajectory`, escape
detection); the study (its grid of starts and radii, escape-time tables, the
authors' GD stopping rule) is experiments/sam_stability.py with its config.

References: Kim, Park, Choi, Lee, "Stability Analysis of Sharpness-Aware
Minimization", arXiv:2301.06308, and the authors' code,
github.com/Harry24k/sam-saddle; Foret et al., ICLR 2021.
"""

from __future__ import annotations

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
