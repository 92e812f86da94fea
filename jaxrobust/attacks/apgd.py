"""Auto-PGD: PGD with momentum and a step size halved at checkpoints (APGD, APGD-T).

Budget-aware and free of step-size tuning: the step starts at 2 * eps and is
halved, per example, at checkpoints where progress stalled, restarting from the
best point found. In L1 (l1-APGD), the step moves the top-k coordinates of the
gradient with an adaptive sparsity k, and each iterate is projected exactly onto
the intersection of the L1 ball and the box [0, 1]^d. With `eot_iter` > 1 the
loss and its gradient are averaged over draws of a randomized model
(Expectation over Transformation).

References:
  Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble
  of diverse parameter-free attacks", ICML 2020 (Algorithm 1, Sec. 3);
  Croce & Hein, "Mind the box: l1-APGD for sparse adversarial attacks on image
  classifiers", ICML 2021 (Sec. 3 and 4: projection, sparse step, schedule);
  Athalye, Carlini & Wagner, "Obfuscated Gradients Give a False Sense of
  Security", ICML 2018 (EOT).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrobust.attacks import _core
from jaxrobust.losses import get_loss
from jaxrobust.losses.classification import dlr_targeted

APGD_NORMS = ("linf", "l2", "l1")
# The stream of model draws (EOT) is folded off the attack's key with this
# constant, apart from the restarts' fold_in(key, r) of the random starts.
_MODEL_STREAM = 2**31 - 1
APGD_LOSSES = ("ce", "dlr")


def checkpoints(steps: int) -> tuple[int, ...]:
  """The checkpoints w_1 < w_2 < ... <= steps of APGD, as iteration counts.

  w_j = ceil(p_j * steps) with p_0 = 0, p_1 = 0.22 and
  p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06): long intervals first, then
  shorter ones, never below 6% of the budget. The p_j are kept in hundredths
  (integers) so that rounding never moves a checkpoint (0.22 + 0.19 is
  0.41000000000000003 in floats, which ceil would push to 42 of 100).

  References: Croce & Hein, ICML 2020, Sec. 3.2.
  """
  _core.check_at_least("steps", steps, 1)
  prev, cur, ws = 0, 22, []
  while True:
    w = -(-cur * steps // 100)  # ceil(cur / 100 * steps) in integers
    if w > steps:
      break
    if not ws or w > ws[-1]:
      ws.append(w)
    prev, cur = cur, cur + max(cur - prev - 3, 6)
  return tuple(ws)


def _schedule(steps: int):
  """Per iteration i (producing x^(i+1)): whether x^(i+1) is a checkpoint, and
  the length w_j - w_{j-1} of the interval it closes (0 elsewhere)."""
  is_check = np.zeros(steps, bool)
  length = np.zeros(steps, np.float32)
  prev = 0
  for w in checkpoints(steps):
    is_check[w - 1] = True
    length[w - 1] = w - prev
    prev = w
  return jnp.asarray(is_check), jnp.asarray(length)


def _expand(per_example, like):
  return per_example.reshape((-1,) + (1,) * (like.ndim - 1))


def _start(key, x, eps, norm):
  """The reference start: a random direction scaled to the sphere of radius eps
  (Linf: uniform noise with its largest coordinate at eps), clipped to the box.
  L1: standard Gaussian noise projected onto the L1 ball and the box (sparse)."""
  if norm == "l1":
    return _core.clip_to_box(x + project_l1_box(jax.random.normal(key, x.shape, x.dtype), x, eps))
  if norm == "linf":
    t = jax.random.uniform(key, x.shape, x.dtype, -1.0, 1.0)
  else:
    t = jax.random.normal(key, x.shape, x.dtype)
  t = t / _expand(_core.norm(t, norm) + 1e-12, x)
  return _core.clip_to_box(x + jnp.asarray(eps, x.dtype) * t)


class RunResult(NamedTuple):
  """One APGD run, per example: the highest-loss point and its loss, whether an
  iterate was misclassified, the last misclassified iterate, the final step size."""
  x_best: jax.Array
  loss_best: jax.Array
  fooled: jax.Array
  x_fooled: jax.Array
  step: jax.Array


def halving(count, length, rho, reduced_last, loss_best, loss_best_last):
  """Which examples halve their step at a checkpoint closing an interval of
  `length` iterations.

  Condition 1: the loss rose in fewer than rho * length of the interval's steps
  (`count` [batch]). Condition 2: the step was not halved at the previous
  checkpoint and the best loss has not improved since.
  """
  cond1 = count < rho * length
  cond2 = ~reduced_last & (loss_best <= loss_best_last)
  return cond1 | cond2


def _objective(loss_fn, logits_fn, eot_iter: int, key):
  """(z [batch, ...], t) -> (loss [batch], logits [batch, classes], grad [batch, ...]).

  eot_iter == 1: one pass of the deterministic `logits_fn(z)` (t unused).
  eot_iter > 1: `logits_fn(z, k)` is a randomized model; the loss and its
  gradient are means over the draws k = fold_in(fold_in(key, t), j), j <
  eot_iter, taken one after the other (memory of one pass); the logits are
  those of the last draw, for the success check, as in the reference (which
  averages the gradient only and tracks the last draw's loss: the mean loss
  is the EOT objective itself, a steadier signal for the step-size decisions).
  """
  def one(z, k):
    def total(z):
      logits = logits_fn(z) if k is None else logits_fn(z, k)
      loss = loss_fn(logits)
      return jnp.sum(loss), (loss, logits)
    (_, (loss, logits)), grad = jax.value_and_grad(total, has_aux=True)(z)
    return loss, logits, grad

  if eot_iter == 1:
    return lambda z, t: one(z, None)

  def averaged(z, t):
    key_t = jax.random.fold_in(key, t)

    def draw(j, acc):
      loss, logits, grad = one(z, jax.random.fold_in(key_t, j))
      return acc[0] + loss, logits, acc[2] + grad

    zeros = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype),
                         jax.eval_shape(one, z, key_t))
    loss, logits, grad = jax.lax.fori_loop(0, eot_iter, draw, zeros)
    return loss / eot_iter, logits, grad / eot_iter

  return averaged


def run(loss_fn: Callable[[jax.Array], jax.Array], logits_fn, x, y, x0, *, eps, rho,
        momentum, steps: int, norm: str, eot_iter: int = 1,
        key: jax.Array | None = None) -> RunResult:
  """One APGD run from x0 (Algorithm 1), all per example, under one fori_loop.

  Args:
    loss_fn: logits [batch, classes] -> loss [batch] to ascend.
    logits_fn: inputs [batch, ...] -> logits [batch, classes]; (inputs, key) ->
      logits when eot_iter > 1.
    x: clean inputs [batch, ...]; y: true labels [batch] (success = misclassified).
    x0: start [batch, ...] inside the ball and the box.
    eps, rho, momentum: radius, halving threshold (0.75), momentum (0.75).
    steps, norm: static budget and "linf" / "l2".
    eot_iter, key: model draws per iteration and the key they are folded from
      (see `_objective`; key unused when eot_iter is 1).
  """
  is_check, length = _schedule(steps)
  objective = _objective(loss_fn, logits_fn, eot_iter, key)
  loss0, logits0, grad0 = objective(x0, 0)
  batch = x.shape[0]
  step0 = jnp.full((batch,), 2.0, x.dtype) * jnp.asarray(eps, x.dtype)
  fooled0 = logits0.argmax(-1) != y
  init = dict(
      x=x0, x_prev=x0, grad=grad0, loss=loss0, step=step0,
      x_best=x0, grad_best=grad0, loss_best=loss0,
      count=jnp.zeros((batch,), x.dtype), loss_best_last=loss0,
      # No halving before w_0 = 0: condition 2 may hold at the first checkpoint.
      reduced_last=jnp.zeros((batch,), bool),
      fooled=fooled0, x_fooled=x0)

  def body(i, s):
    # The first step has no previous step to take momentum from.
    a = jnp.where(i == 0, 1.0, momentum).astype(x.dtype)
    z = _core.to_ball_and_box(
        x, s["x"] + _expand(s["step"], x) * _core.ascent_direction(s["grad"], norm), eps, norm)
    x_new = _core.to_ball_and_box(
        x, s["x"] + a * (z - s["x"]) + (1 - a) * (s["x"] - s["x_prev"]), eps, norm)
    loss, logits, grad = objective(x_new, i + 1)
    wrong = logits.argmax(-1) != y
    better = loss > s["loss_best"]
    s = dict(
        s, x_prev=s["x"], x=x_new, grad=grad, loss=loss,
        count=s["count"] + (loss > s["loss"]).astype(x.dtype),
        x_best=jnp.where(_expand(better, x), x_new, s["x_best"]),
        grad_best=jnp.where(_expand(better, x), grad, s["grad_best"]),
        loss_best=jnp.where(better, loss, s["loss_best"]),
        fooled=s["fooled"] | wrong,
        x_fooled=jnp.where(_expand(wrong, x), x_new, s["x_fooled"]))

    def at_checkpoint(s):
      halve = halving(s["count"], length[i], rho, s["reduced_last"], s["loss_best"],
                      s["loss_best_last"])
      h = _expand(halve, x)
      return dict(
          s, step=jnp.where(halve, s["step"] / 2, s["step"]),
          # Restart from the best point, with its gradient.
          x=jnp.where(h, s["x_best"], s["x"]), grad=jnp.where(h, s["grad_best"], s["grad"]),
          count=jnp.zeros_like(s["count"]), reduced_last=halve,
          loss_best_last=s["loss_best"])

    return jax.lax.cond(is_check[i], at_checkpoint, lambda s: s, s)

  s = jax.lax.fori_loop(0, steps, body, init)
  return RunResult(s["x_best"], s["loss_best"], s["fooled"], s["x_fooled"], s["step"])


def project_l1_box(delta: jax.Array, x: jax.Array, eps) -> jax.Array:
  """Euclidean projection of each delta onto {d : ||d||_1 <= eps, 0 <= x + d <= 1}.

  Exact, one sort per example. With a multiplier lam >= 0 of the L1 constraint
  the problem separates per coordinate, and because the box around x contains
  0, the box-constrained soft threshold solves each one:
  d_i = sign(delta_i) min(max(|delta_i| - lam, 0), room_i), room_i the box's
  room from x_i toward sign(delta_i). lam = 0 if that point already lies in
  the ball; else g(lam) = sum_i min(max(|delta_i| - lam, 0), room_i) = eps,
  g piecewise linear and non-increasing with breakpoints |delta_i| - room_i and
  |delta_i|: the sorted breakpoints locate the segment of the solution, whose
  active coordinates then give lam in closed form.

  Args:
    delta: perturbations [batch, ...] (x + delta is the point projected).
    x: centres [batch, ...] in [0, 1].
    eps: radius, scalar or [batch].

  Returns:
    The projected perturbation [batch, ...].

  References: Croce & Hein, "Mind the box", ICML 2021, Sec. 3.2 (the
  projection onto the L1 ball intersected with the box).
  """
  batch = delta.shape[0]
  d, c = delta.reshape(batch, -1), x.reshape(batch, -1)
  eps = jnp.broadcast_to(jnp.asarray(eps, d.dtype), (batch,))
  a, sign = jnp.abs(d), jnp.sign(d)
  room = jnp.maximum(jnp.where(d > 0, 1 - c, c), 0)
  boxed = jnp.minimum(a, room)  # lam = 0: the projection onto the box alone
  lo, hi = jnp.maximum(a - room, 0), a  # each term falls from room_i to 0 on [lo_i, hi_i]
  n = d.shape[1]
  breaks, change = jax.lax.sort(
      (jnp.concatenate([lo, hi], 1),
       jnp.concatenate([-jnp.ones_like(lo), jnp.ones_like(hi)], 1)), dimension=1, num_keys=1)
  slope = jnp.cumsum(change, 1)  # g' right of each breakpoint (minus the active count)
  g = jnp.sum(boxed, 1, keepdims=True) + jnp.concatenate(
      [jnp.zeros((batch, 1), d.dtype),
       jnp.cumsum(slope[:, :-1] * jnp.diff(breaks, axis=1), 1)], 1)
  # g at the sorted breakpoints is non-increasing (sums of non-positive terms);
  # the solution lies in the segment where g crosses eps.
  k = jnp.clip(jnp.sum(g > eps[:, None], 1), 1, 2 * n - 1)[:, None]
  left = jnp.take_along_axis(breaks, k - 1, 1)
  right = jnp.take_along_axis(breaks, k, 1)
  mid = (left + right) / 2
  active = (mid > lo) & (mid < hi)
  capped = mid <= lo
  n_active = jnp.sum(active, 1, keepdims=True)
  lam = (jnp.sum(jnp.where(capped, room, 0), 1, keepdims=True)
         + jnp.sum(jnp.where(active, a, 0), 1, keepdims=True) - eps[:, None])
  lam = jnp.where(n_active > 0, lam / jnp.maximum(n_active, 1), mid)
  shrunk = jnp.minimum(jnp.maximum(a - jnp.maximum(lam, 0), 0), room)
  inside = jnp.sum(boxed, 1, keepdims=True) <= eps[:, None]
  out = sign * jnp.where(inside, boxed, shrunk)
  # Radius 0 gives exactly 0 (rounding of lam could leave ulps).
  return jnp.where(eps[:, None] > 0, out, 0).reshape(delta.shape)


def _l0(delta: jax.Array) -> jax.Array:
  """Nonzero coordinates per example [batch], as floats."""
  return jnp.sum(delta.reshape(delta.shape[0], -1) != 0, 1).astype(delta.dtype)


def sparse_direction(grad: jax.Array, topk: jax.Array) -> jax.Array:
  """The l1-APGD step direction: sign(grad) on the coordinates whose |grad| is
  at least the one at rank floor((1 - topk) d) of the ascending order (about
  the top topk * d of them), divided by their count (unit L1 norm).

  Args:
    grad: [batch, ...]; topk: the fraction of coordinates to move, [batch].

  References: Croce & Hein, ICML 2021, Sec. 4 (sparse step with adaptive k).
  """
  g = grad.reshape(grad.shape[0], -1)
  n = g.shape[1]
  rank = jnp.clip(jnp.floor((1 - topk) * n), 0, n - 1).astype(jnp.int32)[:, None]
  threshold = jnp.take_along_axis(jnp.sort(jnp.abs(g), 1), rank, 1)
  step = jnp.sign(g) * (jnp.abs(g) >= threshold)
  # A zero gradient selects only zeros: a zero step, never 0/0.
  step = step / (jnp.sum(jnp.abs(step), 1, keepdims=True) + 1e-10)
  return step.reshape(grad.shape)


def l1_check_interval(steps: int) -> int:
  """Iterations between the checkpoints of l1-APGD: 4% of the budget, at least 1."""
  return max(int(0.04 * steps), 1)


def run_l1(loss_fn, logits_fn, x, y, x0, *, eps, steps: int, from_init: bool = False,
           eot_iter: int = 1, key: jax.Array | None = None) -> RunResult:
  """One l1-APGD run from x0, all per example, under one fori_loop.

  Each iteration moves the top `topk` fraction of the gradient's coordinates
  by step / count in the sign of the gradient and projects onto the L1 ball
  and the box (no momentum in L1). The step starts at eps. Every
  `l1_check_interval(steps)` iterations, with s the sparsity (nonzeros) of the
  best point so far: where s fell below 95% of its value at the previous
  checkpoint, the step is reset to eps and the run restarts from the best
  point; elsewhere the step is divided by 1.5, never below eps / 10; topk
  becomes s / (1.5 d). It starts at 0.2, or at the start's sparsity / (1.5 d)
  when `from_init` (a start handed down by a larger radius).

  Args: as `run` (norm is L1; no rho, no momentum).

  References: Croce & Hein, ICML 2021, Sec. 4 and Algorithm 2; the constants
  (0.2, 1.5, 0.95, eps / 10, checkpoints every 4%) are the reference's.
  """
  objective = _objective(loss_fn, logits_fn, eot_iter, key)
  batch, n = x.shape[0], math.prod(x.shape[1:])
  eps_b = jnp.broadcast_to(jnp.asarray(eps, x.dtype), (batch,))
  interval = l1_check_interval(steps)
  loss0, logits0, grad0 = objective(x0, 0)
  if from_init:
    sparsity0 = _l0(x0 - x)
    topk0 = sparsity0 / n / 1.5
  else:
    topk0 = jnp.full((batch,), 0.2, x.dtype)
    sparsity0 = jnp.full((batch,), n, x.dtype)
  init = dict(x=x0, grad=grad0, step=eps_b, topk=topk0, sparsity_last=sparsity0,
              x_best=x0, grad_best=grad0, loss_best=loss0,
              fooled=logits0.argmax(-1) != y, x_fooled=x0)

  def body(i, s):
    moved = s["x"] + _expand(s["step"], x) * sparse_direction(s["grad"], s["topk"])
    x_new = _core.clip_to_box(x + project_l1_box(moved - x, x, eps))
    loss, logits, grad = objective(x_new, i + 1)
    wrong = logits.argmax(-1) != y
    better = _expand(loss > s["loss_best"], x)
    s = dict(
        s, x=x_new, grad=grad,
        x_best=jnp.where(better, x_new, s["x_best"]),
        grad_best=jnp.where(better, grad, s["grad_best"]),
        loss_best=jnp.maximum(loss, s["loss_best"]),
        fooled=s["fooled"] | wrong,
        x_fooled=jnp.where(_expand(wrong, x), x_new, s["x_fooled"]))

    def at_checkpoint(s):
      sparsity = _l0(s["x_best"] - x)
      # As the reference: a ratio (0 / 0 and s / 0 compare False).
      sparser = sparsity / s["sparsity_last"] < 0.95
      step = jnp.clip(jnp.where(sparser, eps_b, s["step"] / 1.5), eps_b / 10, eps_b)
      h = _expand(sparser, x)
      return dict(s, step=step, topk=sparsity / n / 1.5, sparsity_last=sparsity,
                  x=jnp.where(h, s["x_best"], s["x"]),
                  grad=jnp.where(h, s["grad_best"], s["grad"]))

    return jax.lax.cond((i + 1) % interval == 0, at_checkpoint, lambda s: s, s)

  s = jax.lax.fori_loop(0, steps, body, init)
  return RunResult(s["x_best"], s["loss_best"], s["fooled"], s["x_fooled"], s["step"])


def largereps_schedule(steps: int) -> tuple[tuple[float, ...], tuple[int, ...]]:
  """Radius multipliers (3, 2, 1) and their iterations (30%, 30%, the rest).

  As the reference: ceil(0.3 * steps) twice, then what is left (30, 30, 40
  of 100; 3, 3, 4 of 10).
  """
  first = math.ceil(0.3 * steps)
  iters = (first, first, steps - 2 * first)
  if min(iters) < 1:
    raise ValueError(f"use_largereps needs steps with 3 non-empty stages; steps={steps} "
                     f"gives {iters} (use steps = 3 or steps >= 5).")
  return (3.0, 2.0, 1.0), iters


def run_l1_largereps(loss_fn, logits_fn, x, y, start_key, *, eps, steps: int,
                     eot_iter: int = 1, key: jax.Array | None = None) -> RunResult:
  """l1-APGD at radii 3 eps, 2 eps, then eps (`largereps_schedule`), each stage
  starting from the best point of the one before, projected onto its ball.

  The first stage starts from x + Gaussian noise projected onto the 3 eps ball
  and the box. Only the last stage's results count (the others lie outside the
  eps ball).

  References: Croce & Hein, ICML 2021, Sec. 4 ("larger radii first", as the
  reference's `decr_eps_pgd`).
  """
  radii, iters = largereps_schedule(steps)
  start = x + project_l1_box(jax.random.normal(start_key, x.shape, x.dtype), x, radii[0] * eps)
  for stage, (scale, n_iter) in enumerate(zip(radii, iters)):
    stage_eps = scale * jnp.asarray(eps, x.dtype)
    start = _core.clip_to_box(x + project_l1_box(start - x, x, stage_eps))
    res = run_l1(loss_fn, logits_fn, x, y, start, eps=stage_eps, steps=n_iter, from_init=True,
                 eot_iter=eot_iter, key=None if key is None else jax.random.fold_in(key, stage))
    start = res.x_best
  return res


def best_over_runs(run_fn, logits_fn, x, y, n_runs: int) -> jax.Array:
  """Runs `run_fn(r) -> RunResult` for r < n_runs and keeps per example the
  misclassified point of the first run that finds one, else the highest-loss
  point; returns x_adv [batch, ...].

  As the reference, points already misclassified at x stay x, and a point
  fooled by a run is never attacked again: its later runs are computed only
  while some point is still robust (a skipped run leaves every result as is),
  and their results are discarded.
  """
  done0 = logits_fn(x).argmax(-1) != y
  init = (x, done0, jnp.full(y.shape, -jnp.inf, x.dtype))

  def body(r, carry):
    out, done, best = carry

    def attack(carry):
      out, done, best = carry
      res = run_fn(r)
      take_fooled = ~done & res.fooled
      take_best = ~done & ~res.fooled & (res.loss_best > best)
      out = jnp.where(_expand(take_fooled, x), res.x_fooled,
                      jnp.where(_expand(take_best, x), res.x_best, out))
      return out, done | take_fooled, jnp.where(take_best, res.loss_best, best)

    return jax.lax.cond(jnp.all(done), lambda c: c, attack, carry)

  return jax.lax.fori_loop(0, n_runs, body, init)[0]


def _model_key(key, r):
  """The key of run r's model draws (EOT), apart from its start's fold_in(key, r)."""
  return jax.random.fold_in(jax.random.fold_in(key, _MODEL_STREAM), r)


def _clean_logits_fn(attack, logits_fn, key):
  """x -> logits for the checks at the clean point: one draw of a randomized model."""
  if attack.eot_iter == 1:
    return logits_fn
  return lambda z: logits_fn(z, _model_key(key, _MODEL_STREAM))


def _one_run(attack, loss_fn, logits_fn, x, y, key, r) -> RunResult:
  """Run r of `attack` (APGD or APGDT) for its norm and options."""
  start_key = jax.random.fold_in(key, r)
  model_key = None if attack.eot_iter == 1 else _model_key(key, r)
  common = dict(eot_iter=attack.eot_iter, key=model_key)
  if attack.norm == "l1" and attack.use_largereps:
    return run_l1_largereps(loss_fn, logits_fn, x, y, start_key, eps=attack.eps,
                            steps=attack.steps, **common)
  x0 = _start(start_key, x, attack.eps, attack.norm)
  if attack.norm == "l1":
    return run_l1(loss_fn, logits_fn, x, y, x0, eps=attack.eps, steps=attack.steps, **common)
  return run(loss_fn, logits_fn, x, y, x0, eps=attack.eps, rho=attack.rho,
             momentum=attack.momentum, steps=attack.steps, norm=attack.norm, **common)


def _check_options(attack):
  """Checks of the static fields shared by APGD and APGDT."""
  _core.check_at_least("n_restarts", attack.n_restarts, 1)
  _core.check_at_least("eot_iter", attack.eot_iter, 1)
  if not isinstance(attack.use_largereps, (bool, np.bool_)):
    raise ValueError(f"use_largereps must be a bool, got {attack.use_largereps!r}.")
  if attack.use_largereps:
    if attack.norm != "l1":
      raise ValueError(f"use_largereps applies to norm 'l1' only, got norm {attack.norm!r}.")
    largereps_schedule(attack.steps)


def _check_rho(attack):
  rho = attack.rho
  if not isinstance(rho, jax.core.Tracer) and not 0 <= float(np.max(rho)) <= 1:
    raise ValueError(f"rho must lie in [0, 1], got {rho}.")
  momentum = attack.momentum
  if not isinstance(momentum, jax.core.Tracer) and not 0 <= float(np.max(momentum)) <= 1:
    raise ValueError(f"momentum must lie in [0, 1], got {momentum}.")


@struct.dataclass
class APGD:
  """Auto-PGD on the CE or DLR loss, in an Linf, L2 or L1 ball (untargeted).

  Linf / L2, per example: step 2 * eps halved at the checkpoints of
  `checkpoints(steps)` when the loss rose in fewer than rho of the interval's
  steps or the best loss stalled since the last unhalved checkpoint; momentum
  0.75. L1 (l1-APGD, `run_l1`): sparse steps on the top-k coordinates with an
  adaptive k, exact projection onto the L1 ball and the box, step eps adapted
  at checkpoints every 4% of the budget (rho and momentum unused); with
  `use_largereps`, each run spends 30%, 30% and 40% of its steps at radii
  3 eps, 2 eps and eps (`run_l1_largereps`, as AutoAttack in L1).
  `n_restarts` fresh random starts. Returns per example, as the AutoAttack reference, the
  misclassified point of the first run that finds one (that run's last
  misclassified iterate; x itself where x is already misclassified), else the
  highest-loss point over runs.

  Attributes:
    eps: radius of the ball.
    rho: halving threshold of condition 1 (0.75 in the paper).
    momentum: weight alpha of the new step against the previous one (0.75).
    steps: iterations per run (static; 100 in AutoAttack).
    norm: "linf" or "l2" (static).
    loss: "ce" or "dlr" (static).
    n_restarts: random restarts (static), each only for points still robust.
    eot_iter: model draws per iteration (static). 1: `logits_fn(x)` is
      deterministic. > 1: `logits_fn(x, key)` is a randomized model; the loss
      and its gradient are averaged over eot_iter draws, and the success checks
      use one draw (AutoAttack's "rand" version: 20).
    use_largereps: L1 only (static): radii 3 eps, 2 eps, eps in turn (AutoAttack
      L1 sets it); needs steps = 3 or >= 5.

  References: Croce & Hein, ICML 2020 (Linf, L2); Croce & Hein, "Mind the
  box", ICML 2021 (L1); Athalye et al., ICML 2018 (EOT).
  """
  NORMS = APGD_NORMS

  eps: float = 0.3
  rho: float = 0.75
  momentum: float = 0.75
  steps: int = struct.field(pytree_node=False, default=100)
  norm: str = struct.field(pytree_node=False, default="linf")
  loss: str = struct.field(pytree_node=False, default="ce")
  n_restarts: int = struct.field(pytree_node=False, default=1)
  eot_iter: int = struct.field(pytree_node=False, default=1)
  use_largereps: bool = struct.field(pytree_node=False, default=False)

  def __post_init__(self):
    _core.check_static_fields(self)
    _core.check_choice("loss", self.loss, APGD_LOSSES)
    _check_options(self)

  def validate(self) -> "APGD":
    """Checks the numeric hyperparameters when they are concrete; returns self."""
    _core.check_numeric_fields(self, names=("eps", "rho", "momentum"))
    _check_rho(self)
    return self

  def __call__(self, logits_fn: _core.LogitsFn, x: jax.Array, y: jax.Array, *,
               key: jax.Array | None = None) -> jax.Array:
    """Returns x_adv [batch, ...] with ||x_adv - x|| <= eps, inside [0, 1].

    Args:
      logits_fn: inputs [batch, ...] -> logits [batch, classes]; (inputs, key)
        -> logits when eot_iter > 1.
      x: clean inputs [batch, ...] in [0, 1].
      y: true labels [batch].
      key: PRNG key for the random starts and model draws (required).
    """
    self.validate()
    _core.check_batch(x, y)
    if key is None:
      raise ValueError("APGD starts at random points: it needs a PRNG `key`.")
    base = get_loss(self.loss)
    loss_fn = lambda logits: base(logits, y)
    run_fn = lambda r: _one_run(self, loss_fn, logits_fn, x, y, key, r)
    return best_over_runs(run_fn, _clean_logits_fn(self, logits_fn, key), x, y,
                          self.n_restarts)


@struct.dataclass
class APGDT:
  """APGD-T: APGD on the targeted DLR loss, against each of the top
  `n_target_classes` other classes of the clean prediction in turn.

  `y` is the TRUE label: the attack picks its targets itself (the 2nd, 3rd, ...
  largest clean logits) and succeeds when x_adv is misclassified, as the
  AutoAttack reference. Per example it keeps the misclassified point of the
  first run (targets in rank order, restarts within) that finds one, as `APGD`
  does (x itself if x is already misclassified), else the highest
  targeted-DLR point over runs.

  Attributes:
    eps, rho, momentum, steps, norm, eot_iter, use_largereps: as `APGD`.
    n_target_classes: how many top non-true classes to target (static; 9).
    n_restarts: restarts per target class (static; 1 in AutoAttack).

  References: Croce & Hein, ICML 2020, Sec. 4 (APGD-T with the targeted DLR
  loss); Croce & Hein, ICML 2021 (L1).
  """
  NORMS = APGD_NORMS

  eps: float = 0.3
  rho: float = 0.75
  momentum: float = 0.75
  steps: int = struct.field(pytree_node=False, default=100)
  norm: str = struct.field(pytree_node=False, default="linf")
  n_target_classes: int = struct.field(pytree_node=False, default=9)
  n_restarts: int = struct.field(pytree_node=False, default=1)
  eot_iter: int = struct.field(pytree_node=False, default=1)
  use_largereps: bool = struct.field(pytree_node=False, default=False)

  def __post_init__(self):
    _core.check_static_fields(self)
    _core.check_at_least("n_target_classes", self.n_target_classes, 1)
    _check_options(self)

  def validate(self) -> "APGDT":
    """Checks the numeric hyperparameters when they are concrete; returns self."""
    _core.check_numeric_fields(self, names=("eps", "rho", "momentum"))
    _check_rho(self)
    return self

  def __call__(self, logits_fn: _core.LogitsFn, x: jax.Array, y: jax.Array, *,
               key: jax.Array | None = None) -> jax.Array:
    """Returns x_adv [batch, ...] with ||x_adv - x|| <= eps, inside [0, 1].

    Args:
      logits_fn: inputs [batch, ...] -> logits [batch, classes]; (inputs, key)
        -> logits when eot_iter > 1.
      x: clean inputs [batch, ...] in [0, 1].
      y: TRUE labels [batch] (never targets).
      key: PRNG key for the random starts and model draws (required).
    """
    self.validate()
    _core.check_batch(x, y)
    if key is None:
      raise ValueError("APGDT starts at random points: it needs a PRNG `key`.")
    clean_fn = _clean_logits_fn(self, logits_fn, key)
    clean = clean_fn(x)
    classes = clean.shape[-1]
    if self.n_target_classes > classes - 1:
      raise ValueError(f"n_target_classes must be <= classes - 1 = {classes - 1}, "
                       f"got {self.n_target_classes}.")
    # Targets by decreasing clean logit, the top one (the prediction) left out.
    ranked = jnp.argsort(-clean, axis=-1)[:, 1:self.n_target_classes + 1]

    def run_fn(r):
      target = jax.lax.dynamic_index_in_dim(ranked, r // self.n_restarts, axis=1,
                                            keepdims=False)
      return _one_run(self, lambda logits: dlr_targeted(logits, y, target), logits_fn,
                      x, y, key, r)

    n_runs = self.n_target_classes * self.n_restarts
    return best_over_runs(run_fn, clean_fn, x, y, n_runs)
