"""The two walks over a `Network` on one example: intervals forward, linear bounds backward.

Shapes: one example x [*input_shape]; a linear bound is (lam [S, *shape], bias [S]):
the S rows bound sum(lam_s * v) + bias_s from below for the value v at some op.

References:
  Gowal et al., "On the Effectiveness of Interval Bound Propagation for
  Training Verifiably Robust Models", 2018, Eq. 6 (interval arithmetic of an
  affine layer by centre and radius); Zhang et al., "Efficient Neural Network
  Robustness Certification with General Activation Functions", NeurIPS 2018,
  Thm. 3.2 (CROWN's backward pass) and Sec. 3.3 (adaptive ReLU lower slope);
  Xu et al., "Fast and Complete: Enabling Complete Neural Network Verification with
  Rapid and Massively Parallel Incomplete Verifiers", ICLR 2021, Sec. 3.1
  (alpha-CROWN: the lower slopes as variables in [0, 1], optimised by gradient).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxrobust.certify.network import Network, ReLU

# alpha-CROWN's optimisation of the ReLU lower slopes: 20 Adam steps of lr 0.1 from CROWN's
# adaptive slopes (auto_LiRPA's way). bound-propagation 0.4.7 starts at the chord's slope
# u / (u - l) with lr 1e-2, betas (0.5, 0.99): ALPHA_INIT = "chord" and that optimiser give
# its bounds (tests/peers/test_bound_propagation.py), often looser than CROWN's.
ALPHA_STEPS = 20
ALPHA_OPTIMIZER = optax.adam(0.1)
ALPHA_INIT = "adaptive"


def _sum_rows(a):
  """[S, ...] -> [S]: sum over everything but the first axis."""
  return a.reshape(a.shape[0], -1).sum(-1)


def input_box(x, eps):
  """The box [max(x - eps, 0), min(x + eps, 1)]: the Linf ball intersected with [0, 1]
  (and a box holding the L2 ball intersected with [0, 1])."""
  return jnp.clip(x - eps, 0.0, 1.0), jnp.clip(x + eps, 0.0, 1.0)


def intervals(net: Network, lo, hi, stop: int | None = None):
  """Interval bound propagation through ops[:stop] from the box [lo, hi].

  Returns (pre, (l, u)): pre maps each ReLU op index to the (l, u) of its input;
  (l, u) bound the output of ops[stop - 1].
  """
  c, r = (lo + hi) / 2, (hi - lo) / 2
  pre = {}
  for i, op in enumerate(net.ops[:stop]):
    if isinstance(op, ReLU):
      l, u = c - r, c + r
      pre[i] = (l, u)
      l, u = jax.nn.relu(l), jax.nn.relu(u)
      c, r = (l + u) / 2, (u - l) / 2
    else:
      c, r = op(c), op.abs_linear(r)
  return pre, (c - r, c + r)


def relu_relaxation(l, u):
  """CROWN's linear bounds of relu(v) for v in [l, u], elementwise.

  Upper: a_up v + b_up (the chord for unstable neurons); lower: a_low v with
  the adaptive slope a_low = 1 if u > -l else 0 (Zhang et al. 2018, Sec. 3.3;
  auto_LiRPA's and bound-propagation's adaptive ReLU).
  """
  active, inactive = l >= 0, u <= 0
  unstable = ~(active | inactive)
  width = jnp.where(unstable, u - l, 1.0)
  a_up = jnp.where(active, 1.0, jnp.where(unstable, u / width, 0.0))
  b_up = jnp.where(unstable, -u * l / width, 0.0)
  a_low = jnp.where(active, 1.0, jnp.where(unstable & (u > -l), 1.0, 0.0))
  return a_low, a_up, b_up


def backward(net: Network, shapes, lam, pre, start: int, stop: int = 0, alphas=None):
  """Lower linear bound of sum(lam * ops[start - 1] output) in terms of ops[stop]'s input.

  lam: [S, *shapes[start]]; pre: the (l, u) of every ReLU input in ops[stop:start];
  alphas: None, or ReLU op index -> lower slopes in [0, 1] of its unstable neurons
  [*shape] (shared by the S rows), in place of CROWN's adaptive ones.
  Linear ops are transposed with `jax.linear_transpose` (a conv's adjoint is a
  transposed conv: nothing is materialised but the [S, ...] coefficients).
  Returns (lam [S, *shapes[stop]], bias [S]).
  """
  bias = jnp.zeros(lam.shape[:1], lam.dtype)
  for i in range(start - 1, stop - 1, -1):
    op = net.ops[i]
    if isinstance(op, ReLU):
      a_low, a_up, b_up = relu_relaxation(*pre[i])
      if alphas is not None and i in alphas:
        l, u = pre[i]
        a_low = jnp.where((l < 0) & (u > 0), alphas[i], a_low)
      pos, neg = jnp.maximum(lam, 0), jnp.minimum(lam, 0)
      bias = bias + _sum_rows(neg * b_up)
      lam = pos * a_low + neg * a_up
    else:
      primal = jax.ShapeDtypeStruct(shapes[i], lam.dtype)
      offset = op(jnp.zeros(shapes[i], lam.dtype)) - op.linear(jnp.zeros(shapes[i], lam.dtype))
      bias = bias + _sum_rows(lam * offset)
      transpose = jax.linear_transpose(op.linear, primal)
      lam = jax.vmap(lambda row: transpose(row)[0])(lam)
  return lam, bias


def concretize(lam, bias, lo, hi, x=None, eps=None, norm: str = "linf"):
  """min of sum(lam_s * v) + bias_s over v in the box [lo, hi] ([S]); with
  norm "l2", also over the L2 ball ||v - x|| <= eps, keeping the larger
  (both sets hold the ball intersected with the box)."""
  mid, rad = (lo + hi) / 2, (hi - lo) / 2
  low = _sum_rows(lam * mid) - _sum_rows(jnp.abs(lam) * rad)
  if norm == "l2":
    squares = _sum_rows(lam * lam)
    # A zero row (a margin's j = y) has norm 0; the double where keeps its gradient
    # finite for alpha-CROWN (d sqrt / d s is infinite at 0).
    norms = jnp.where(squares > 0, jnp.sqrt(jnp.where(squares > 0, squares, 1.0)), 0.0)
    ball = _sum_rows(lam * x) - eps * norms
    low = jnp.maximum(low, ball)
  return low + bias


def crown_pre(net: Network, shapes, x, eps, norm: str):
  """CROWN bounds of every ReLU's input: a backward pass from each ReLU, in
  order, with the identity spec (2n rows: lower and upper), intersected with
  the IBP bounds (sound, never looser; as auto_LiRPA and bound-propagation
  do). Memory grows as n_k x the size of the layers behind ReLU k: meant for
  small networks."""
  lo, hi = input_box(x, eps)
  ibp = intervals(net, lo, hi)[0]
  pre = {}
  for k, op in enumerate(net.ops):
    if not isinstance(op, ReLU):
      continue
    n = 1
    for d in shapes[k]:
      n *= d
    eye = jnp.eye(n, dtype=x.dtype).reshape((n,) + tuple(shapes[k]))
    lam, bias = backward(net, shapes, jnp.concatenate([eye, -eye]), pre, k)
    low = concretize(lam, bias, lo, hi, x, eps, norm)
    pre[k] = (jnp.maximum(low[:n].reshape(shapes[k]), ibp[k][0]),
              jnp.minimum(-low[n:].reshape(shapes[k]), ibp[k][1]))
  return pre


def alpha_crown(net: Network, shapes, x, eps, spec, pre, norm: str):
  """alpha-CROWN's lower bounds [S] of spec @ logits: the final backward pass with the
  unstable ReLUs' lower slopes optimised (sum of the S bounds, projected Adam in [0, 1]),
  the ReLU inputs' bounds `pre` fixed (CROWN's), as bound-propagation 0.4.7 does.

  Every slope in [0, 1] gives a sound bound, so the result is one whatever the
  optimiser does: ALPHA_STEPS of ALPHA_OPTIMIZER from ALPHA_INIT, on the projected
  gradient alpha - clip(alpha - g, 0, 1) then clipped (bound-propagation's projection).
  """
  lo, hi = input_box(x, eps)
  end = len(net.ops)

  def bound(alphas):
    lam, bias = backward(net, shapes, spec, pre, end, alphas=alphas)
    return concretize(lam, bias, lo, hi, x, eps, norm)

  def loss(alphas):
    return -jnp.sum(bound(alphas))

  if ALPHA_INIT == "chord":
    alphas = {i: jnp.where((l < 0) & (u > 0), u / jnp.where(u > l, u - l, 1.0), 0.0)
              for i, (l, u) in pre.items()}
  else:
    alphas = {i: relu_relaxation(l, u)[0] for i, (l, u) in pre.items()}

  def step(_, carry):
    alphas, state = carry
    grads = jax.grad(loss)(alphas)
    grads = jax.tree.map(lambda a, g: a - jnp.clip(a - g, 0.0, 1.0), alphas, grads)
    updates, state = ALPHA_OPTIMIZER.update(grads, state, alphas)
    alphas = jax.tree.map(lambda a: jnp.clip(a, 0.0, 1.0), optax.apply_updates(alphas, updates))
    return alphas, state

  alphas, _ = jax.lax.fori_loop(0, ALPHA_STEPS, step, (alphas, ALPHA_OPTIMIZER.init(alphas)))
  return bound(alphas)


def spec_lower(net: Network, x, eps, spec, norm: str, method: str):
  """Lower bounds [S] of spec @ logits over the input set, one example.

  spec: [S, classes]. method: "ibp" (intervals to the last ReLU, then the
  linear tail exactly: the elided last layer of Gowal et al.), "crown" (CROWN
  for every layer), "crown_ibp" (IBP for the ReLU inputs, CROWN for the spec) or
  "alpha_crown" (CROWN's ReLU inputs, optimised slopes for the spec; never looser than
  CROWN: the elementwise max of the two sound bounds).
  """
  shapes = net.shapes()
  lo, hi = input_box(x, eps)
  relus = [i for i, op in enumerate(net.ops) if isinstance(op, ReLU)]
  end = len(net.ops)
  if method == "ibp" and relus:
    last = relus[-1]
    _, (l, u) = intervals(net, lo, hi, last + 1)
    lam, bias = backward(net, shapes, spec, {}, end, last + 1)
    return concretize(lam, bias, l, u)
  if method in ("crown", "alpha_crown"):
    pre = crown_pre(net, shapes, x, eps, norm)
    if method == "alpha_crown" and pre:
      lam, bias = backward(net, shapes, spec, pre, end)
      return jnp.maximum(concretize(lam, bias, lo, hi, x, eps, norm),
                         alpha_crown(net, shapes, x, eps, spec, pre, norm))
  else:  # crown_ibp, or ibp of a network without ReLUs (exact either way)
    pre = intervals(net, lo, hi)[0]
  lam, bias = backward(net, shapes, spec, pre, end)
  return concretize(lam, bias, lo, hi, x, eps, norm)
