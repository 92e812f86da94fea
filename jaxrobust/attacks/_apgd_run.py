"""One APGD run in Linf / L2 (Algorithm 1), and what every APGD run shares: the
(EOT) objective, the running best point, the result.

References:
  Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble
  of diverse parameter-free attacks", ICML 2020 (Algorithm 1, Sec. 3);
  Athalye, Carlini & Wagner, "Obfuscated Gradients Give a False Sense of
  Security", ICML 2018 (EOT).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust.attacks import _core


def expand(per_example, like):
  """[batch] -> [batch, 1, ...], broadcastable against `like` [batch, ...]."""
  return per_example.reshape((-1,) + (1,) * (like.ndim - 1))


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


def objective(loss_fn, logits_fn, eot_iter: int, key):
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


class RunResult(NamedTuple):
  """One APGD run, per example: the highest-loss point and its loss, whether an
  iterate was misclassified, the last misclassified iterate, the final step size."""
  x_best: jax.Array
  loss_best: jax.Array
  fooled: jax.Array
  x_fooled: jax.Array
  step: jax.Array


class Best(NamedTuple):
  """What a run keeps, per example: its highest-loss point x [batch, ...] with
  that point's gradient and loss [batch] (restarts go back to it), whether an
  iterate was misclassified, and the last misclassified iterate."""
  x: jax.Array
  grad: jax.Array
  loss: jax.Array
  fooled: jax.Array
  x_fooled: jax.Array

  @classmethod
  def first(cls, x0, y, loss, logits, grad) -> "Best":
    return cls(x0, grad, loss, logits.argmax(-1) != y, x0)

  def update(self, x_new, y, loss, logits, grad) -> "Best":
    """With the new iterate x_new, its loss, logits and gradient."""
    better = loss > self.loss
    wrong = logits.argmax(-1) != y
    b = expand(better, x_new)
    return Best(jnp.where(b, x_new, self.x), jnp.where(b, grad, self.grad),
                jnp.where(better, loss, self.loss), self.fooled | wrong,
                jnp.where(expand(wrong, x_new), x_new, self.x_fooled))

  def result(self, step) -> RunResult:
    return RunResult(self.x, self.loss, self.fooled, self.x_fooled, step)


class _State(NamedTuple):
  """The loop state of a Linf / L2 run, per example."""
  x: jax.Array  # current iterate [batch, ...]
  x_prev: jax.Array  # the one before (momentum)
  grad: jax.Array  # gradient at x
  loss: jax.Array  # loss at x [batch]
  step: jax.Array  # step size [batch]
  count: jax.Array  # iterations of the interval where the loss rose [batch]
  loss_best_last: jax.Array  # best loss at the last checkpoint [batch]
  reduced_last: jax.Array  # halved at the last checkpoint [batch] bool
  best: Best


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
      (see `objective`; key unused when eot_iter is 1).
  """
  is_check, length = _schedule(steps)
  evaluate = objective(loss_fn, logits_fn, eot_iter, key)
  loss0, logits0, grad0 = evaluate(x0, 0)
  batch = x.shape[0]
  init = _State(
      x=x0, x_prev=x0, grad=grad0, loss=loss0,
      step=jnp.full((batch,), 2.0, x.dtype) * jnp.asarray(eps, x.dtype),
      count=jnp.zeros((batch,), x.dtype), loss_best_last=loss0,
      # No halving before w_0 = 0: condition 2 may hold at the first checkpoint.
      reduced_last=jnp.zeros((batch,), bool),
      best=Best.first(x0, y, loss0, logits0, grad0))

  def body(i, s):
    # The first step has no previous step to take momentum from.
    a = jnp.where(i == 0, 1.0, momentum).astype(x.dtype)
    z = _core.to_ball_and_box(
        x, s.x + expand(s.step, x) * _core.ascent_direction(s.grad, norm), eps, norm)
    x_new = _core.to_ball_and_box(x, s.x + a * (z - s.x) + (1 - a) * (s.x - s.x_prev), eps, norm)
    loss, logits, grad = evaluate(x_new, i + 1)
    s = s._replace(x_prev=s.x, x=x_new, grad=grad, loss=loss,
                   count=s.count + (loss > s.loss).astype(x.dtype),
                   best=s.best.update(x_new, y, loss, logits, grad))

    def at_checkpoint(s):
      halve = halving(s.count, length[i], rho, s.reduced_last, s.best.loss, s.loss_best_last)
      h = expand(halve, x)
      # Restart from the best point, with its gradient.
      return s._replace(step=jnp.where(halve, s.step / 2, s.step),
                        x=jnp.where(h, s.best.x, s.x), grad=jnp.where(h, s.best.grad, s.grad),
                        count=jnp.zeros_like(s.count), reduced_last=halve,
                        loss_best_last=s.best.loss)

    return jax.lax.cond(is_check[i], at_checkpoint, lambda s: s, s)

  s = jax.lax.fori_loop(0, steps, body, init)
  return s.best.result(s.step)
