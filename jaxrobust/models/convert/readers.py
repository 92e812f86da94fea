"""Checkpoint files -> state_dicts of numpy arrays.

Two formats: `.safetensors` (read by the `safetensors` package, no torch
needed) and torch's `.pt`/`.pth` (read by `torch.load(weights_only=True)`, so
a checkpoint cannot run code while it loads). Training scripts often save
{"state_dict": ..., "epoch": ...}: the state_dict inside is found.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import numpy as np

TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".tar")
# torch.load(weights_only=True) before 2.6 can be made to run code (CVE-2025-32434).
MIN_SAFE_TORCH = (2, 6)
# Where training scripts keep the weights inside a saved dict.
# "last": the final (not the best) model of a run, as Andriushchenko2020Understanding stores it.
_CONTAINER_KEYS = ("state_dict", "model_state_dict", "model", "net", "state", "params", "last")


def read_state_dict(path: str) -> dict[str, np.ndarray]:
  """Reads a checkpoint file: key -> numpy array (the file's dtypes, bfloat16 as float32).

  Raises:
    FileNotFoundError: no such file.
    ValueError: an unknown suffix, a damaged or truncated file, or a file that
      holds no state_dict.
  """
  if not os.path.isfile(path):
    raise FileNotFoundError(f"No checkpoint file at {path!r}.")
  suffix = os.path.splitext(path)[1].lower()
  if suffix == ".safetensors":
    return _read_safetensors(path)
  if suffix in TORCH_SUFFIXES:
    return _read_torch(path)
  raise ValueError(f"Unknown checkpoint format {suffix!r} of {path!r}: use .safetensors or "
                   f"a torch file ({', '.join(TORCH_SUFFIXES)}).")


def _read_safetensors(path: str) -> dict[str, np.ndarray]:
  try:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file
  except ImportError as e:
    raise ImportError("Reading .safetensors needs the safetensors package: "
                      "pip install safetensors") from e
  try:
    return dict(load_file(path))
  except (SafetensorError, ValueError, TypeError) as e:
    raise ValueError(f"{path!r} is not a readable .safetensors file (truncated or "
                     f"damaged?): {e}") from e


def torch_version() -> tuple[int, int]:
  """(major, minor) of the installed torch, read from torch.__version__ ("2.6.0+cpu" -> (2, 6))."""
  import torch
  major, minor = torch.__version__.split("+")[0].split(".")[:2]
  return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


def _read_torch(path: str) -> dict[str, np.ndarray]:
  try:
    import torch
  except ImportError as e:
    raise ImportError(f"Reading {path!r} needs torch (the CPU wheel is enough); or convert it "
                      "once to .safetensors where torch is installed.") from e
  version = torch_version()
  if version < MIN_SAFE_TORCH:
    # weights_only is our only guard against code in the pickle; older torch can be bypassed.
    raise ValueError(
        f"Refusing to load {path!r}: torch {torch.__version__} is older than "
        f"{'.'.join(map(str, MIN_SAFE_TORCH))}, whose torch.load(weights_only=True) can run code "
        "from the file (CVE-2025-32434). Upgrade torch to >= 2.6, or convert the checkpoint "
        "to .safetensors where a safe torch is installed.")
  try:
    obj = torch.load(path, map_location="cpu", weights_only=True)
  except Exception as e:  # torch raises RuntimeError, UnpicklingError, EOFError, ...
    if "weights_only" in str(e) or "Unsupported global" in str(e):
      # A refusal by the unpickler, not damage: say so first.
      raise ValueError(
          f"Cannot read torch checkpoint {path!r}: refused: the file pickles Python objects "
          "besides tensors, which weights_only=True does not load; if you trust it, re-save "
          f"only its state_dict with torch.save, or as .safetensors. ({type(e).__name__}: "
          f"{e})") from e
    raise ValueError(f"Cannot read torch checkpoint {path!r} (truncated or damaged?): "
                     f"{type(e).__name__}: {e}.") from e
  state = _find_state_dict(obj)
  if state is None:
    found = sorted(obj)[:20] if isinstance(obj, Mapping) else type(obj).__name__
    raise ValueError(f"{path!r} holds no state_dict (a mapping of names to tensors); "
                     f"found {found}.")
  return {k: tensor_to_numpy(v) for k, v in state.items()}


def _find_state_dict(obj: Any) -> Mapping[str, Any] | None:
  """obj itself if it maps names to tensors, else the first container key that does."""
  import torch
  if isinstance(obj, Mapping) and obj and all(
      isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
    return obj
  if isinstance(obj, Mapping):
    for key in _CONTAINER_KEYS:
      found = _find_state_dict(obj[key]) if key in obj else None
      if found is not None:
        return found
  return None


def tensor_to_numpy(tensor) -> np.ndarray:
  """A torch tensor as a numpy array on the host (bfloat16 as float32)."""
  import torch
  tensor = tensor.detach().cpu()
  if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16
    tensor = tensor.float()
  return tensor.numpy()
