"""RobustBench 1.1.1's own torch classes and zoo entries, without its package __init__.

robustbench is installed with --no-deps (scripts/test): its __init__ imports gdown,
timm and torchvision, which the test peers lack, while its architecture files
import only torch. The packages robustbench, robustbench.model_zoo and
.architectures are put in sys.modules as bare packages over the installed folders,
and the absent third-party modules as stubs, so that the entry tables
(model_zoo/cifar10.py, cifar100.py, imagenet.py) import as they are.
"""

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import types
from unittest import mock

import pytest

INSTALL = "pip install --no-deps robustbench==1.1.1"
_STUBBED = ("timm", "gdown", "torchvision")  # imported by entries this project refuses
DATASETS = {"cifar10": "cifar_10_models", "cifar100": "cifar_100_models",
            "imagenet": "imagenet_models"}


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
  """Any import of a stubbed package yields a MagicMock module."""

  def find_spec(self, name, path, target=None):
    if name.split(".")[0] in _STUBBED:
      return importlib.machinery.ModuleSpec(name, self, is_package=True)
    return None

  def create_module(self, spec):
    module = mock.MagicMock(name=spec.name)
    module.__path__, module.__spec__ = [], spec
    return module

  def exec_module(self, module):
    pass


def _root() -> str | None:
  """The installed robustbench folder, found without importing it."""
  for entry in sys.path:
    candidate = os.path.join(entry, "robustbench", "model_zoo", "architectures")
    if os.path.isdir(candidate):
      return os.path.join(entry, "robustbench")
  return None


def require_robustbench() -> None:
  """Installs the bare packages, or skips (an error under CI, like the other peers)."""
  if "robustbench.model_zoo.architectures" in sys.modules:
    return
  root = _root()
  if root is None:
    if os.environ.get("CI"):
      raise ImportError(f"CI must install robustbench ({INSTALL}).")
    pytest.skip(f"robustbench not installed; {INSTALL}", allow_module_level=True)
  if not any(isinstance(f, _StubFinder) for f in sys.meta_path):
    sys.meta_path.append(_StubFinder())
  for name, sub in (("robustbench", ""), ("robustbench.model_zoo", "model_zoo"),
                    ("robustbench.model_zoo.architectures", "model_zoo/architectures")):
    package = types.ModuleType(name)
    package.__path__ = [os.path.join(root, sub)]
    sys.modules[name] = package


def architectures(name: str):
  """robustbench.model_zoo.architectures.<name> (e.g. "dm_wide_resnet")."""
  require_robustbench()
  return importlib.import_module(f"robustbench.model_zoo.architectures.{name}")


def entries(dataset: str) -> dict[str, dict]:
  """threat model ("Linf", "L2", "corruptions") -> the dataset's OrderedDict of entries
  (name -> {"model": constructor, "gdrive_id": ...})."""
  require_robustbench()
  module = importlib.import_module(f"robustbench.model_zoo.{dataset}")
  return {k.value: v for k, v in getattr(module, DATASETS[dataset]).items()}


def zoo_module(dataset: str):
  """robustbench.model_zoo.<dataset> (its entry table and the entries' own classes)."""
  require_robustbench()
  return importlib.import_module(f"robustbench.model_zoo.{dataset}")


def build_uninitialized(constructor):
  """constructor() with every weight initializer a no-op: full-size models (400M weights)
  are built in a fraction of a second, their tensors allocated but never written. Only
  shapes, module types and constant buffers (normalization) are meaningful."""
  import torch  # deferred: this module serves tests that skip without torch

  def keep(tensor, *args, **kwargs):
    return tensor

  noop = lambda self, *args, **kwargs: None  # noqa: E731
  targets = [(torch.nn.modules.conv._ConvNd, "reset_parameters", noop),
             (torch.nn.Linear, "reset_parameters", noop),
             (torch.nn.modules.batchnorm._NormBase, "reset_parameters", noop)]
  targets += [(torch.nn.init, name, keep) for name in (
      "kaiming_normal_", "kaiming_uniform_", "normal_", "uniform_", "constant_", "zeros_",
      "ones_", "xavier_uniform_", "xavier_normal_", "trunc_normal_", "orthogonal_")]
  # Madry/TRADES WideResNets initialize through the tensors' own methods.
  targets += [(torch.Tensor, name, keep) for name in ("normal_", "uniform_", "zero_", "fill_")]
  with contextlib.ExitStack() as stack:
    for owner, name, value in targets:
      stack.enter_context(mock.patch.object(owner, name, value))
    return constructor()
