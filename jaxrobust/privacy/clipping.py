"""Per-example clipped gradient sums: by vmap, or by ghost norms without per-example gradients.

Both modes return sum_i mask_i * min(1, C / ||g_i||) * g_i, the quantity DP-SGD
privatises (Abadi et al.), and the per-example norms ||g_i||. An example whose
gradient norm is not finite (a NaN or inf entry, e.g. from a NaN loss, or a norm
that overflows) contributes zero instead of poisoning the sum, which keeps the
sensitivity bound C, and is counted in the returned "nonfinite".

* mode="vmap": g_i = vmap(grad) over examples, optionally in micro-batches
  (lax.map over chunks) to bound memory. Materialises [batch, *params].
* mode="ghost": never materialises per-example gradients. One backward pass
  to the outputs of every Dense/Conv layer gives each example's output
  gradients; with the layer inputs they give each layer's per-example
  gradient norm (||a_i|| ||g_i|| for a single position; for sequences and
  convolutions, whichever is cheaper of the Gram identity
  ||sum_t a_t g_t^T||^2 = sum_{t,s} <a_t, a_s><g_t, g_s> or the per-layer
  product of unfolded patches). The clipped sum is linear in the output
  gradients, so each layer's clipped sum is formed from the same stored
  inputs and output gradients weighted by the clip factors (book-keeping),
  with no second backward pass. Needs a model made only of flax Dense and
  2-D Conv layers (plus parameter-free ops), each applied once per forward,
  and no cross-example coupling (no BatchNorm).

`loss_fn(params, batch) -> [batch]` per-example losses; `batch` is any pytree
of arrays with a leading batch axis. An optional `preprocess(params, example,
key) -> example` (e.g. an adversarial attack, see `jaxrobust.privacy.adversarial`)
runs per example (vmapped, batch of one, its own key) with its result held
fixed, so each example's gradient is taken at its own preprocessed point.

References:
  Abadi et al., "Deep Learning with Differential Privacy", CCS 2016.
  Goodfellow, "Efficient Per-Example Gradient Computations", arXiv 1510.01799, 2015.
  Li, Tramer, Liang, Hashimoto, "Large Language Models Can Be Strong
  Differentially Private Learners" (ghost clipping), ICLR 2022.
  Bu, Mao, Xu, "Scalable and Efficient Training of Large Convolutional Neural
  Networks with Differential Privacy" (mixed ghost clipping), NeurIPS 2022.
  Bu, Wang, Zha, Karypis, "Differentially Private Optimization on Large Model
  at Small Cost" (book-keeping), ICML 2023.
"""

from __future__ import annotations

from typing import Any, Callable

import flax
import flax.linen as nn
import flax.traverse_util
import jax
import jax.numpy as jnp
import optax

from jaxrobust import _checks

MODES = ("vmap", "ghost")

LossFn = Callable[[Any, Any], jax.Array]


def clip_factors(norms: jax.Array, l2_clip) -> jax.Array:
  """min(1, C / ||g_i||), 1 for zero gradients. [batch] -> [batch]."""
  _checks.check_number("l2_clip", l2_clip, low=0, low_open=True)
  return jnp.minimum(1.0, l2_clip / jnp.maximum(norms, 1e-30))


def clipped_grad_sum(loss_fn: LossFn, params: Any, batch: Any, mask: jax.Array, *,
                     l2_clip: float, mode: str = "vmap",
                     microbatch_size: int | None = None,
                     preprocess: Callable | None = None,
                     key: jax.Array | None = None) -> tuple[Any, dict[str, jax.Array]]:
  """Sum of per-example gradients, each clipped to L2 norm l2_clip, masked.

  Args:
    loss_fn: (params, batch) -> per-example losses [b].
    params: parameter pytree.
    batch: pytree of arrays [b, ...].
    mask: [b] weights, 1 for real examples and 0 for padding.
    l2_clip: clipping norm C > 0.
    mode: "vmap" or "ghost" (see the module docstring).
    microbatch_size: vmap mode only; examples per vmapped chunk (must divide b).
    preprocess: optional (params, example [1, ...], key) -> example, per example.
    key: PRNG key for preprocess (required with it).

  Returns:
    (clipped gradient sum, like params; {"norms": [b] unclipped per-example
    gradient norms, "loss": [b] per-example losses, "nonfinite": int32 number
    of examples with mask != 0 whose gradient norm is not finite, left out of
    the sum}).
  """
  _checks.check_number("l2_clip", l2_clip, low=0, low_open=True)
  _checks.check_choice("clipping mode", mode, MODES)
  _checks.check_ndim("mask", mask, ("batch",))
  leaves = jax.tree_util.tree_leaves_with_path(batch)
  _checks.check_same_length(mask=mask, **{f"batch{jax.tree_util.keystr(k)}": v
                                          for k, v in leaves})
  # A NaN example would be left out of the sum (counted in "nonfinite"): refuse it here.
  _checks.check_finite_tree("batch", batch)
  _checks.check_array_range("mask", mask, 0.0, 1.0)
  b = mask.shape[0]
  if preprocess is not None:
    if key is None:
      raise ValueError("preprocess needs a PRNG key.")
    keys = jax.random.split(key, b)
    batch = jax.lax.stop_gradient(jax.vmap(
        lambda ex, k: _unbatch(preprocess(params, _batch1(ex), k)))(batch, keys))
  if mode == "ghost":
    if microbatch_size is not None:
      raise ValueError("microbatch_size applies to mode='vmap' only.")
    return _ghost(loss_fn, params, batch, mask, l2_clip)
  return _vmap(loss_fn, params, batch, mask, l2_clip, microbatch_size)


def _batch1(tree):
  return jax.tree.map(lambda a: a[None], tree)


def _unbatch(tree):
  return jax.tree.map(lambda a: a[0], tree)


def per_example_grads(loss_fn: LossFn, params: Any, batch: Any) -> tuple[jax.Array, Any]:
  """(losses [b], gradients [b, *params]) by vmap over examples (batches of one)."""
  _checks.leading_size("batch", batch)
  return jax.vmap(jax.value_and_grad(
      lambda p, ex: loss_fn(p, _batch1(ex))[0]), in_axes=(None, 0))(params, batch)


def _weights(norms, mask, l2_clip):
  """(mask * clip factor [b], 0 where the norm is not finite; finite [b] bool)."""
  finite = jnp.isfinite(norms)
  return jnp.where(finite, mask * clip_factors(norms, l2_clip), 0.0), finite


def _count_nonfinite(norms, mask):
  """Number of real examples (mask != 0) whose gradient norm is not finite."""
  return jnp.sum((mask != 0) & ~jnp.isfinite(norms), dtype=jnp.int32)


def _zero_rows(finite, a):
  """a [b, ...] with the rows of non-finite examples set to 0 (0 * NaN is NaN)."""
  return jnp.where(finite.reshape((-1,) + (1,) * (a.ndim - 1)), a, jnp.zeros_like(a))


def _vmap(loss_fn, params, batch, mask, l2_clip, microbatch_size):
  b = mask.shape[0]

  def chunk(args):
    ex, m = args
    losses, grads = per_example_grads(loss_fn, params, ex)
    norms = jax.vmap(optax.tree.norm)(grads)
    w, finite = _weights(norms, m, l2_clip)
    return jax.tree.map(lambda g: jnp.tensordot(w, _zero_rows(finite, g), 1), grads), (
        losses, norms)

  if microbatch_size is None or microbatch_size >= b:
    total, (losses, norms) = chunk((batch, mask))
  else:
    if microbatch_size < 1 or b % microbatch_size:
      raise ValueError(f"microbatch_size={microbatch_size} must be >= 1 and divide "
                       f"the batch size {b}.")
    n = b // microbatch_size
    split = lambda a: a.reshape((n, microbatch_size) + a.shape[1:])
    sums, (losses, norms) = jax.lax.map(chunk, (jax.tree.map(split, batch), split(mask)))
    total = jax.tree.map(lambda s: s.sum(0), sums)
    losses, norms = losses.reshape(b), norms.reshape(b)
  return total, {"norms": norms, "loss": losses, "nonfinite": _count_nonfinite(norms, mask)}


# ---------------------------------------------------------------- ghost mode

def _is_leaf_params(tree) -> bool:
  return isinstance(tree, dict) and bool(tree) and all(
      not isinstance(v, dict) for v in tree.values())


def _conv_padding(module: nn.Conv, n: int):
  p = module.padding
  if isinstance(p, str):
    if p.upper() in ("SAME", "VALID"):
      return p.upper()
    raise ValueError(f"ghost clipping does not support Conv padding {p!r}; use mode='vmap'.")
  if isinstance(p, int):
    return [(p, p)] * n
  return [(q, q) if isinstance(q, int) else tuple(q) for q in p]


def _check_conv(module: nn.Conv, a: jax.Array) -> None:
  # Called while tracing the forward pass (the module is still bound).
  ks = module.kernel_size
  ok = (len(ks) == 2 and a.ndim == 4 and module.feature_group_count == 1
        and module.input_dilation in (None, 1, (1, 1))
        and module.kernel_dilation in (None, 1, (1, 1)) and module.mask is None)
  if not ok:
    raise ValueError(
        f"ghost clipping supports 2-D Conv layers on [batch, h, w, c] inputs without "
        f"dilation, groups or masks; layer {module.scope.path} is not. Use mode='vmap'.")


def _positions(module, a):
  """Layer input as [b, T, d] rows whose outer products with outputs give the kernel grad."""
  if isinstance(module, nn.Conv):
    strides = module.strides or 1
    strides = (strides, strides) if isinstance(strides, int) else tuple(strides)
    patches = jax.lax.conv_general_dilated_patches(
        a, tuple(module.kernel_size), strides, _conv_padding(module, 2),
        dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return patches.reshape(a.shape[0], -1, patches.shape[-1])
  return a.reshape(a.shape[0], -1, a.shape[-1])


def _layer_sq_norms(module, a, g) -> jax.Array:
  """Squared per-example gradient norm of one layer's kernel (+ bias). [b]."""
  b = a.shape[0]
  a = _positions(module, a).astype(jnp.float32)
  g = g.reshape(b, -1, g.shape[-1]).astype(jnp.float32)
  t, d, p = a.shape[1], a.shape[2], g.shape[2]
  if t == 1:
    sq = jnp.sum(a[:, 0] ** 2, -1) * jnp.sum(g[:, 0] ** 2, -1)
  elif t * t * (d + p) <= t * d * p:
    # Gram identity: O(T^2 (d + p)) instead of O(T d p) per example.
    sq = jnp.sum(jnp.einsum("btd,bsd->bts", a, a) * jnp.einsum("btp,bsp->bts", g, g),
                 axis=(1, 2))
  else:
    sq = jnp.sum(jnp.einsum("btd,btp->bdp", a, g) ** 2, axis=(1, 2))
  if module.use_bias:
    sq = sq + jnp.sum(g.sum(1) ** 2, -1)
  return sq


def _traced_layers(loss_fn, params, batch, perturb=None):
  """Runs loss_fn recording each Dense/Conv layer's input (and adding perturb[path])."""
  layers: dict[tuple, Any] = {}

  def interceptor(next_fun, args, kwargs, context):
    module = context.module
    if context.method_name != "__call__" or module.is_initializing():
      return next_fun(*args, **kwargs)
    own = module.variables.get("params", {})
    if not _is_leaf_params(own):
      return next_fun(*args, **kwargs)
    path = tuple(module.scope.path)
    if not isinstance(module, (nn.Dense, nn.Conv)):
      raise ValueError(f"ghost clipping supports flax Dense and Conv layers only; "
                       f"{type(module).__name__} at {path} has parameters. Use mode='vmap'.")
    if path in layers:
      raise ValueError(f"ghost clipping needs each layer applied once per forward; "
                       f"{path} was applied twice. Use mode='vmap'.")
    if isinstance(module, nn.Conv):
      _check_conv(module, args[0])
    out = next_fun(*args, **kwargs)
    layers[path] = (module, args[0], out.shape, out.dtype)
    if perturb is not None:
      out = out + perturb[path]
    return out

  with nn.intercept_methods(interceptor):
    losses = loss_fn(params, batch)
  return losses, layers


def _ghost(loss_fn, params, batch, mask, l2_clip):
  # Pass 0 (trace only): which layers exist and their output shapes.
  shapes, modules = {}, {}

  def probe(p, bt):
    _, layers = _traced_layers(loss_fn, p, bt)
    shapes.update({k: (v[2], v[3]) for k, v in layers.items()})
    modules.update({k: v[0] for k, v in layers.items()})
    return 0.0

  jax.eval_shape(probe, params, batch)
  zeros = {k: jnp.zeros(s, d) for k, (s, d) in shapes.items()}

  # Pass 1: gradients of sum_i loss_i w.r.t. each layer's output = per-example
  # output gradients (examples do not interact).
  def summed(perturb):
    losses, layers = _traced_layers(loss_fn, params, batch, perturb)
    inputs = {k: v[1] for k, v in layers.items()}
    return jnp.sum(losses), (losses, inputs)

  _, vjp_fn, (losses, inputs) = jax.vjp(summed, zeros, has_aux=True)
  (out_grads,) = vjp_fn(jnp.ones((), losses.dtype))
  sq = sum(_layer_sq_norms(modules[k], inputs[k], out_grads[k]) for k in inputs)
  norms = jnp.sqrt(sq)

  # The clipped sum is linear in the output gradients: sum_i w_i a_i^T g_i =
  # a^T (w * g) per layer (Bu et al. 2023's book-keeping), so no second
  # backward pass is needed.
  w, finite = jax.lax.stop_gradient(_weights(norms, mask, l2_clip))
  layer_grads = {k: _layer_weighted_grads(modules[k], _zero_rows(finite, inputs[k]),
                                          _zero_rows(finite, out_grads[k]), w)
                 for k in inputs}
  return _assemble(params, layer_grads), {"norms": norms, "loss": losses,
                                          "nonfinite": _count_nonfinite(norms, mask)}


def _layer_weighted_grads(module, a, g, w) -> dict[str, jax.Array]:
  """sum_i w_i * (per-example gradient of this layer's kernel and bias)."""
  b = a.shape[0]
  rows = _positions(module, a)
  gw = g.reshape(b, -1, g.shape[-1]) * w[:, None, None].astype(g.dtype)
  kernel = jnp.einsum("btd,btp->dp", rows, gw)
  if isinstance(module, nn.Conv):
    # conv_general_dilated_patches orders features as (in_channel, kh, kw);
    # flax kernels are (kh, kw, in_channel, out_channel).
    kh, kw = module.kernel_size
    kernel = kernel.reshape(a.shape[-1], kh, kw, -1).transpose(1, 2, 0, 3)
  out = {"kernel": kernel}
  if module.use_bias:
    out["bias"] = gw.sum((0, 1))
  return out


def _assemble(params, layer_grads):
  flat = flax.traverse_util.flatten_dict(params)
  out = {}
  for path, leaf in flat.items():
    grads = layer_grads.get(tuple(path[:-1]), {})
    if path[-1] not in grads:
      raise ValueError(f"ghost clipping: parameter {'/'.join(path)} does not belong to a "
                       "Dense or Conv layer applied in the forward pass. Use mode='vmap'.")
    out[path] = grads[path[-1]].reshape(leaf.shape).astype(leaf.dtype)
  return flax.traverse_util.unflatten_dict(out)
