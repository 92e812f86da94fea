"""A model as the sequence of layers the bound walk reads: linear maps and ReLUs.

A bound method needs the structure of a network, not just its `logits_fn`:
this module turns one of our Flax models (+ its variables) into a `Network`,
a pytree of ops (Dense, Conv, an elementwise Scale for the input
normalization and eval-mode BatchNorm, Flatten, ReLU). The walk is over our
own layers, not over jaxprs (jax_verify's interpreter broke with JAX
updates): a model is supported when `network` knows its layer order.

All ops act on ONE example (no batch axis); batched bounds vmap over examples.

Supported: Linear, MLP, SmallCNN (with or without BatchNorm, eval mode), with
the identity head. Unsupported (a clear error): residual networks
(PreActResNet18, WideResNet: their blocks start with BatchNorm-ReLU and sum
branches, not walked yet) and non-identity heads (sigsoftmax, tanh, ...).

References:
  Gowal et al., "On the Effectiveness of Interval Bound Propagation for
  Training Verifiably Robust Models", 2018; Zhang et al., "Efficient Neural
  Network Robustness Certification with General Activation Functions"
  (CROWN), NeurIPS 2018.
"""

from __future__ import annotations

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust import _checks
from jaxrobust.models.cnn import SmallCNN
from jaxrobust.models.simple import MLP, Linear
from jaxrobust.models.layers import batch_norm_affine


@struct.dataclass
class Dense:
  """y = v @ kernel + bias; v [in] -> [out]."""
  kernel: jax.Array  # [in, out]
  bias: jax.Array  # [out]

  def linear(self, v):
    return v @ self.kernel

  def abs_linear(self, v):
    return v @ jnp.abs(self.kernel)

  def __call__(self, v):
    return self.linear(v) + self.bias


@struct.dataclass
class Conv:
  """Flax nn.Conv on one example: v [h, w, c_in] -> [h', w', c_out] (NHWC, HWIO)."""
  kernel: jax.Array  # [kh, kw, c_in, c_out]
  bias: jax.Array  # [c_out]
  strides: tuple = struct.field(pytree_node=False, default=(1, 1))
  padding: Any = struct.field(pytree_node=False, default="SAME")

  def _conv(self, v, kernel):
    return jax.lax.conv_general_dilated(
        v[None], kernel, self.strides, self.padding,
        dimension_numbers=("NHWC", "HWIO", "NHWC"))[0]

  def linear(self, v):
    return self._conv(v, self.kernel)

  def abs_linear(self, v):
    return self._conv(v, jnp.abs(self.kernel))

  def __call__(self, v):
    return self.linear(v) + self.bias


@struct.dataclass
class Scale:
  """Elementwise y = scale * v + shift, per channel (the last axis): the input
  normalization (1/std, -mean/std) and eval-mode BatchNorm folded."""
  scale: jax.Array  # [channels]
  shift: jax.Array  # [channels]

  def linear(self, v):
    return v * self.scale

  def abs_linear(self, v):
    return v * jnp.abs(self.scale)

  def __call__(self, v):
    return self.linear(v) + self.shift


@struct.dataclass
class Flatten:
  """v [...] -> [prod(...)]."""

  def linear(self, v):
    return v.reshape(-1)

  abs_linear = linear
  __call__ = linear


@struct.dataclass
class ReLU:
  """max(v, 0)."""

  def __call__(self, v):
    return jax.nn.relu(v)


LINEAR_OPS = (Dense, Conv, Scale, Flatten)


@struct.dataclass
class Network:
  """A feed-forward network: ops applied in order to one example.

  input_shape: one example's shape (e.g. (28, 28, 1)); ops: a tuple of
  Dense/Conv/Scale/Flatten/ReLU. `network(model, variables)` builds one.
  """
  ops: tuple
  input_shape: tuple = struct.field(pytree_node=False)

  def __call__(self, x):
    """Logits [classes] of one example x [*input_shape]."""
    for op in self.ops:
      x = op(x)
    return x

  def shapes(self) -> list[tuple]:
    """The input shape of every op, then the output shape (len(ops) + 1 entries)."""
    shapes, v = [self.input_shape], jax.ShapeDtypeStruct(self.input_shape, jnp.float32)
    for op in self.ops:
      v = jax.eval_shape(op, v)
      shapes.append(tuple(v.shape))
    return shapes


def _normalize(mean, std) -> Scale:
  std = jnp.asarray(std, jnp.float32)
  return Scale(1.0 / std, -jnp.asarray(mean, jnp.float32) / std)


def _batch_norm(stats, params) -> Scale:
  """Eval-mode flax BatchNorm (jaxrobust.models.layers.batch_norm) as a Scale."""
  return Scale(*batch_norm_affine(stats, params))


def _check_head(model) -> None:
  if getattr(model, "head", "identity") != "identity":
    raise ValueError(f"certify supports the identity head only; {type(model).__name__} has "
                     f"head={model.head!r} (a nonlinear output map the bound walk does not "
                     "relax). Certify the model with head='identity'.")


def _check_variables(model, variables, input_shape) -> None:
  """variables must have the tree and shapes of model.init's (so a deeper MLP's
  variables are refused, not truncated to the layers the walk reads)."""
  want = jax.eval_shape(model.init, jax.random.PRNGKey(0),
                        jnp.zeros((1,) + tuple(input_shape), jnp.float32))
  strip = lambda t: {k: v for k, v in dict(t).items() if k in ("params", "batch_stats")}
  want, got = strip(want), strip(variables)
  want_def, got_def = jax.tree_util.tree_structure(want), jax.tree_util.tree_structure(got)
  want_shapes = [tuple(v.shape) for v in jax.tree_util.tree_leaves(want)]
  got_shapes = [tuple(jnp.shape(v)) for v in jax.tree_util.tree_leaves(got)]
  if want_def != got_def or want_shapes != got_shapes:
    raise ValueError(f"variables do not match the {type(model).__name__}'s own (model.init on "
                     f"inputs {tuple(input_shape)}): expected tree {want_def} with shapes "
                     f"{want_shapes}, got {got_def} with shapes {got_shapes}.")


def network(model: nn.Module, variables: Any, input_shape: tuple) -> Network:
  """The bound walk's view of `model` with `variables` for inputs [*input_shape].

  Args:
    model: a jaxrobust model: Linear, MLP or SmallCNN (identity head).
    variables: its variables ({"params": ..., "batch_stats": ...}).
    input_shape: one example's shape [h, w, c].
  Raises:
    TypeError: for a model the walk does not know (residual networks, custom
      modules, and any subclass of a supported class: its call may differ).
    ValueError: variables whose tree or shapes differ from model.init's.
  """
  # The exact class, not isinstance: a subclass may change the layers (e.g. tanh for
  # ReLU), and its bounds would be the base class's, i.e. wrong.
  if type(model) not in (Linear, MLP, SmallCNN):
    raise TypeError(
        f"certify cannot walk a {type(model).__name__}: supported models are exactly Linear, "
        "MLP and SmallCNN (jaxrobust.models 'linear', 'mlp', 'small_cnn'; not subclasses); "
        "residual networks (preact_resnet18, wide_resnet) are not supported yet.")
  _check_head(model)
  _check_variables(model, variables, input_shape)
  params = variables["params"]
  ops = [_normalize(model.mean, model.std)]
  if type(model) in (Linear, MLP):
    ops.append(Flatten())
    widths = tuple(model.hidden) if type(model) is MLP else ()
    for i in range(len(widths) + 1):
      p = params[f"Dense_{i}"]
      ops.append(Dense(p["kernel"], p["bias"]))
      if i < len(widths):
        ops.append(ReLU())
  else:  # SmallCNN
    for i, width in enumerate(model.features):
      p = params[f"Conv_{i}"]
      bias = p["bias"] if "bias" in p else jnp.zeros((width,), p["kernel"].dtype)
      ops.append(Conv(p["kernel"], bias, (2, 2), "SAME"))
      if model.batchnorm:
        ops.append(_batch_norm(variables["batch_stats"][f"BatchNorm_{i}"],
                               params[f"BatchNorm_{i}"]))
      ops.append(ReLU())
    ops.append(Flatten())
    for i in range(2):
      p = params[f"Dense_{i}"]
      ops += [Dense(p["kernel"], p["bias"])] + ([ReLU()] if i == 0 else [])
  return Network(tuple(ops), tuple(input_shape))


def capture(logits_fn: Callable[[jax.Array], Any], x: jax.Array
            ) -> tuple[nn.Module, Any, Any]:
  """(model, variables, logits_fn(x)) of a `logits_fn` that applies one of our Flax
  models to x.

  Calls logits_fn(x) while intercepting the outermost module's call (flax
  `intercept_methods`), so that a defense that sees only its train/eval logits
  functions can still bound the model, with the (traced, differentiable)
  parameters that function closes over. The call happens at the caller's
  trace level: the captured values belong to the caller's trace.

  Raises:
    TypeError: logits_fn called no Flax model, or called it on something
      other than its input (a wrapper that changes x is not walked).
  """
  if not callable(logits_fn):
    raise TypeError(f"logits_fn must be callable x -> logits, got {type(logits_fn).__name__}.")
  found = []

  def interceptor(next_fun, args, kwargs, context):
    module = context.module
    if not found and context.method_name == "__call__" and module.scope is not None \
        and module.scope.parent is None:
      found.append((module, module.variables, args[0] is x))
    return next_fun(*args, **kwargs)

  with nn.intercept_methods(interceptor):
    out = logits_fn(x)
  if not found:
    raise TypeError("certify needs a logits_fn that applies a jaxrobust Flax model "
                    "(e.g. jaxrobust.models.as_logits_fn(model, variables)); this one "
                    "called no Flax module.")
  model, variables, same_input = found[0]
  if not same_input:
    raise TypeError("certify: the logits_fn changed its input before calling the model; "
                    "bounds are only sound for a logits_fn that calls the model on x itself.")
  return model, variables, out


PROBES = 4  # random points of the input box, besides x itself, that network_of compares on
PROBE_TOL = 1e-4  # relative: a float32 walk equals the model to ~1e-6


def network_of(logits_fn: Callable[[jax.Array], Any], x: jax.Array) -> Network:
  """`network(...)` of the model a logits_fn applies; x [batch, *input_shape].

  The logits_fn's own output must be the walked network's: both are evaluated
  on x and on PROBES points of [0, 1]^d (a fixed key), and a difference above
  PROBE_TOL * (1 + max |logits|) is refused, so a logits_fn that maps the
  model's output (scales, permutes, negates, softmaxes it, adds a layer) gets
  no bounds of the bare model. Checked when x and the variables are concrete
  (eagerly); under a trace nothing can be raised, so call it outside jit.

  Raises:
    ValueError: the logits_fn's output is not the walked network's (with the
      max difference).
  """
  if not callable(logits_fn):
    raise TypeError(f"logits_fn must be callable x -> logits, got {type(logits_fn).__name__}.")
  model, variables, _ = capture(logits_fn, x)
  net = network(model, variables, x.shape[1:])
  probes = jnp.concatenate([jnp.asarray(x), jax.random.uniform(
      jax.random.PRNGKey(0), (PROBES,) + tuple(x.shape[1:]), jnp.asarray(x).dtype)])
  want, got = jnp.asarray(logits_fn(probes)), jax.vmap(net)(probes)
  if want.shape != got.shape:
    raise ValueError(f"logits_fn's output shape {want.shape} is not the walked "
                     f"{type(model).__name__}'s {got.shape}: certify cannot vouch for it.")
  diff = _checks.concrete_value(jnp.max(jnp.abs(want - got)))  # None under a trace
  if diff is not None and not diff <= PROBE_TOL * (1 + float(jnp.max(jnp.abs(got)))):
    raise ValueError(
        f"logits_fn's output is not the walked {type(model).__name__}'s output (max "
        f"difference {float(diff):.4g} on x and {PROBES} random points of [0, 1]); it maps the "
        "model's logits (scaling, permutation, softmax, an extra layer, ...), so the bounds "
        "of the model would not bound it. Pass a logits_fn that returns the model's logits "
        "(jaxrobust.models.as_logits_fn) and apply the map to the bounds yourself.")
  return net

