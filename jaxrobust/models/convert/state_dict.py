"""PyTorch state_dict <-> Flax variables, through a `TorchMapping`.

`import_state_dict` fills a Flax model's `params` and `batch_stats` from a torch
state_dict (numpy arrays by key, as `read_state_dict` returns them); every key
is accounted for: a checkpoint of another architecture fails with one error
listing its missing, unexpected and mis-shaped keys. `export_state_dict` is the
inverse (a torch twin of a Flax model loads it with `load_state_dict`).
"""

from __future__ import annotations

import dataclasses
import fnmatch
from typing import Any, Callable, Mapping, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust.models.convert import mapping as mp
from jaxrobust.models.convert.readers import tensor_to_numpy

MappingArg = Union[mp.TorchMapping, Callable[..., mp.TorchMapping], None]

# Wrappers whose prefix is dropped when every key carries it: DataParallel's
# "module.", and RobustBench's Sequential(normalize, model).
_WRAPPER_PREFIXES = ("module.", "model.")
# Per-channel input statistics that torch models keep as buffers.
NORMALIZATION_KEYS = (("normalize.mean", "normalize.std"), ("normalizer.mean", "normalizer.std"),
                      ("mu", "sigma"), ("mean", "std"))
_LISTED = 12  # keys shown per list in an error


class StateDictMismatchError(ValueError):
  """The checkpoint's keys or shapes are not those the model's mapping expects.

  Attributes:
    missing: keys the model needs that the checkpoint lacks.
    unexpected: keys of the checkpoint the model has no place for.
    mis_shaped: (key, checkpoint shape, expected shape) triples.
  """

  def __init__(self, message: str, missing=(), unexpected=(), mis_shaped=()):
    super().__init__(message)
    self.missing, self.unexpected, self.mis_shaped = list(missing), list(unexpected), list(
        mis_shaped)


def split_state_dict(state_dict: Mapping[str, Any]) -> tuple[dict[str, np.ndarray],
                                                              tuple | None]:
  """Drops wrapper prefixes and takes out normalization buffers.

  Returns (weights by key, (mean, std) tuples of floats or None when the
  checkpoint carries no normalization buffers of a known name).
  """
  state = {k: _as_numpy(v) for k, v in state_dict.items()}
  normalization = None
  changed = True
  while changed:
    changed = False
    if normalization is None:
      for mean_key, std_key in NORMALIZATION_KEYS:
        if mean_key in state and std_key in state and (
            state[mean_key].size == state[std_key].size):
          normalization = (tuple(float(v) for v in state.pop(mean_key).reshape(-1)),
                           tuple(float(v) for v in state.pop(std_key).reshape(-1)))
          changed = True
          break
    for prefix in _WRAPPER_PREFIXES:
      if state and all(k.startswith(prefix) for k in state):
        state = {k[len(prefix):]: v for k, v in state.items()}
        changed = True
  return state, normalization


def _as_numpy(value) -> np.ndarray:
  """numpy arrays as they are; torch tensors (a live model's state_dict()) via numpy."""
  if hasattr(value, "detach"):
    return tensor_to_numpy(value)
  return np.asarray(value)


def describe(model) -> str:
  """WideResNet(depth=28, width=10, ...): the model's class and structural fields."""
  skip = ("parent", "name", "mean", "std")
  fields = ", ".join(f"{f.name}={getattr(model, f.name)!r}" for f in dataclasses.fields(model)
                     if f.name not in skip and f.init)
  return f"{type(model).__name__}({fields})"


def _listing(title: str, items: Sequence[str]) -> str:
  shown = ", ".join(items[:_LISTED])
  more = f", ... and {len(items) - _LISTED} more" if len(items) > _LISTED else ""
  return f"\n  {title} ({len(items)}): {shown}{more}"


def _resolve(model, input_shape, mapping: MappingArg) -> mp.TorchMapping:
  if mapping is None:
    return mp.mapping_for(model, input_shape)
  if isinstance(mapping, mp.TorchMapping):
    return mapping
  return mapping(model, tuple(input_shape))


def _variable_shapes(model, input_shape) -> dict[str, Any]:
  """The model's variables as ShapeDtypeStructs (nothing is computed)."""
  x = jnp.zeros((1,) + tuple(input_shape), jnp.float32)
  return jax.eval_shape(lambda: model.init(jax.random.key(0), x))


def _expected(mapping: mp.TorchMapping, shapes) -> tuple[dict[str, tuple], set[str]]:
  """torch key -> (collection, flax path, flax shape, dtype, layout, layer), and the
  BatchNorm counters that may be present (read, then dropped)."""
  expected, counters = {}, set()
  for layer in mapping.layers:
    for t in mp.KINDS[layer.kind]:
      node = shapes.get(t.collection, {})
      for part in layer.flax:
        node = node.get(part, {}) if isinstance(node, Mapping) else {}
      leaf = node.get(t.leaf) if isinstance(node, Mapping) else None
      if leaf is None:
        if t.optional:
          continue
        raise ValueError(f"The torch mapping names Flax module {'/'.join(layer.flax)!r} for "
                         f"{layer.torch!r} ({layer.kind}), but the model has no "
                         f"{t.collection}/{'/'.join(layer.flax + (t.leaf,))}: the mapping "
                         "does not fit this model.")
      key = f"{layer.torch}.{t.torch}" if layer.torch else t.torch
      expected[key] = (t.collection, layer.flax + (t.leaf,), tuple(leaf.shape), leaf.dtype,
                       t.layout, layer)
    if layer.kind == "batchnorm":
      counters.add(f"{layer.torch}.{mp.BN_COUNTER}")
  return expected, counters


def _leaves(tree, prefix=()) -> list[tuple[str, ...]]:
  if not isinstance(tree, Mapping):
    return [prefix]
  return [p for k, v in tree.items() for p in _leaves(v, prefix + (k,))]


def _set(tree: dict, path: Sequence[str], value) -> None:
  for part in path[:-1]:
    tree = tree.setdefault(part, {})
  tree[path[-1]] = value


def check_state_dict(state_dict: Mapping[str, Any], model, input_shape: Sequence[int], *,
                     mapping: MappingArg = None) -> tuple[dict[str, tuple], dict[str, Any]]:
  """Raises unless the state_dict fits `model`: keys, shapes and normalization buffers.

  Only shapes are read (and normalization buffers' values), so arrays of any content,
  even zero-stride views, do. Arguments as `import_state_dict`'s.

  Returns:
    (torch key -> where it goes in the Flax variables, the state_dict without wrapper
    prefixes and normalization buffers), for `import_state_dict`.

  Raises:
    StateDictMismatchError: missing, unexpected or mis-shaped keys (all listed), or
      normalization buffers that disagree with the model's mean/std.
  """
  mapping = _resolve(model, input_shape, mapping)
  state, normalization = split_state_dict(state_dict)
  shapes = _variable_shapes(model, input_shape)
  expected, counters = _expected(mapping, shapes)
  covered = {(c,) + path for c, path, *_ in expected.values()}
  unset = [p for p in _leaves(shapes) if p not in covered]
  if unset:
    raise ValueError(f"The torch mapping of {describe(model)} leaves Flax variables unset: "
                     f"{['/'.join(p) for p in unset[:_LISTED]]}; add their layers to it.")

  missing = sorted(k for k in expected if k not in state)
  unexpected = sorted(k for k in state if k not in expected and k not in counters and not any(
      fnmatch.fnmatchcase(k, pattern) for pattern in mapping.ignore))
  mis_shaped = [(k, tuple(state[k].shape), mp.torch_shape(shape, layout, layer))
                for k, (_, _, shape, _, layout, layer) in sorted(expected.items())
                if k in state and tuple(state[k].shape) != mp.torch_shape(shape, layout, layer)]
  if missing or unexpected or mis_shaped:
    message = f"The checkpoint does not fit {describe(model)}:"
    if missing:
      message += _listing("missing keys", missing)
    if unexpected:
      message += _listing("unexpected keys", unexpected)
    if mis_shaped:
      message += _listing("mis-shaped keys (checkpoint vs model)",
                          [f"{k} {a} vs {b}" for k, a, b in mis_shaped])
    message += ("\nIs it a checkpoint of another architecture, depth or width (or num_classes)? "
                "A model of your own needs a mapping (jaxrobust.models.convert.register_mapping).")
    raise StateDictMismatchError(message, missing, unexpected, mis_shaped)

  if normalization is not None and hasattr(model, "mean"):
    _check_normalization(normalization, model)
  return expected, state


def import_state_dict(state_dict: Mapping[str, Any], model, input_shape: Sequence[int], *,
                      mapping: MappingArg = None) -> dict[str, Any]:
  """A torch state_dict as the variables of Flax `model`.

  Args:
    state_dict: key -> array (numpy, torch tensors, or anything `np.asarray`
      reads), e.g. from `read_state_dict` or a torch model's `state_dict()`.
      "module."/"model." wrapper prefixes are dropped.
    model: the Flax module of the same architecture (e.g. from
      `jaxrobust.models.make`).
    input_shape: one input, (height, width, channels).
    mapping: a `TorchMapping`, or a function (model, input_shape) -> mapping
      (the hook for a user's own architecture); default: the one registered for
      the model's class (`register_mapping`).

  Returns:
    {"params": ..., "batch_stats": ...} (the collections the model has) for
    `model.apply(variables, x, train=False)`.

  Raises:
    StateDictMismatchError: missing, unexpected or mis-shaped keys (all listed),
      or normalization buffers that disagree with the model's mean/std.
  """
  expected, state = check_state_dict(state_dict, model, input_shape, mapping=mapping)
  variables: dict[str, Any] = {}
  for key, (collection, path, shape, dtype, layout, layer) in expected.items():
    value = state[key]
    if not np.issubdtype(value.dtype, np.floating):
      raise StateDictMismatchError(f"Checkpoint tensor {key!r} has dtype {value.dtype}; "
                                   "weights must be floating point.")
    value = mp.to_flax(value.astype(np.float32), layout, layer)
    if not np.all(np.isfinite(value)):
      raise StateDictMismatchError(f"Checkpoint tensor {key!r} holds NaN or infinite values.")
    _set(variables, (collection,) + path, jnp.asarray(value, dtype))
  return variables


def _check_normalization(normalization, model) -> None:
  mean, std = normalization
  channels = len(model.mean)
  mean, std = (mean * channels if len(mean) == 1 else mean,
               std * channels if len(std) == 1 else std)
  if len(mean) != channels or not (np.allclose(mean, model.mean, atol=1e-6) and np.allclose(
      std, model.std, atol=1e-6)):
    raise StateDictMismatchError(
        f"The checkpoint's normalization buffers (mean={mean}, std={std}) differ from the "
        f"model's (mean={tuple(model.mean)}, std={tuple(model.std)}): build the model with the "
        "checkpoint's statistics (load_torch_checkpoint does when mean/std are not given).")


def export_state_dict(model, variables: Mapping[str, Any], input_shape: Sequence[int], *,
                      mapping: MappingArg = None) -> dict[str, np.ndarray]:
  """The inverse of `import_state_dict`: Flax variables as a torch state_dict of numpy
  arrays (float32; BatchNorm counters as int64 zeros). The model's normalization
  is not included: torch twins hold it as they choose."""
  mapping = _resolve(model, input_shape, mapping)
  expected, counters = _expected(mapping, _variable_shapes(model, input_shape))
  out = {}
  for key, (collection, path, _, _, layout, layer) in expected.items():
    node = variables[collection]
    for part in path:
      node = node[part]
    # A writable copy: torch.from_numpy warns on (and may not write) read-only views.
    out[key] = np.array(mp.to_torch(np.asarray(node, np.float32), layout, layer), order="C")
  out.update({k: np.zeros((), np.int64) for k in counters})
  return out
