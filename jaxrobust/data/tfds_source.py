"""TFDS image-classification datasets read into memory, never downloaded.

array_record datasets are read with `tfds.data_source` (no TensorFlow needed);
tfrecord datasets with `tfds.load`, which needs TensorFlow. A dataset that is
not prepared fails fast with a `FileNotFoundError` saying how to prepare it.
"""

from __future__ import annotations

import glob
import json
import os
import re

import numpy as np

from jaxrobust.data.info import DatasetInfo

TFDS_DATASETS = {
    # Per-channel pixel statistics (values in [0, 1]) of each train split.
    "mnist": DatasetInfo("mnist", 10, (28, 28, 1), (0.1307,), (0.3081,)),
    "fashion_mnist": DatasetInfo(
        "fashion_mnist", 10, (28, 28, 1), (0.2860,), (0.3530,)),
    "cifar10": DatasetInfo("cifar10", 10, (32, 32, 3),
                           (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": DatasetInfo("cifar100", 100, (32, 32, 3),
                            (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "svhn_cropped": DatasetInfo(
        "svhn_cropped", 10, (32, 32, 3),
        (0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970)),
    # stl10's "unlabelled" split has label -1.
    "stl10": DatasetInfo("stl10", 10, (96, 96, 3),
                         (0.4467, 0.4398, 0.4066), (0.2603, 0.2566, 0.2713)),
}

BACKENDS = ("auto", "data_source", "tf")
_RANDOM_ACCESS_FORMATS = ("array_record", "parquet")  # what data_source reads
_VERSION_DIR = re.compile(r"^\d+\.\d+\.\d+$")
_CHUNK = 4096  # records decoded per `__getitems__` call
_INFO = "dataset_info.json"


def default_data_dir() -> str:
  """TFDS's default data dir, computed without importing TFDS."""
  return os.environ.get("TFDS_DATA_DIR") or os.path.join(
      os.path.expanduser("~"), "tensorflow_datasets")


def prepare_command(name: str, data_dir: str) -> str:
  """The shell command that prepares `name` in `data_dir` as array_record."""
  return (
      "pip install tensorflow importlib_resources && python -c \"import "
      f"tensorflow_datasets as tfds; tfds.builder('{name}', data_dir='"
      f"{data_dir}', file_format='array_record').download_and_prepare()\"")


def _find_prepared(name: str, data_dir: str) -> tuple[str, str]:
  """Returns (tfds name with version, version dir) of the newest prepared copy.

  A plain filesystem check, so an unprepared dataset fails in milliseconds
  instead of going through TFDS's builder machinery. TFDS writes into a
  temporary directory and renames it when done, so a `<version>` directory
  holding dataset_info.json is complete.
  """
  root = os.path.join(data_dir, name)
  found = []  # (version tuple, config or None, version dir)
  for info in (glob.glob(os.path.join(glob.escape(root), "*", _INFO)) +
               glob.glob(os.path.join(glob.escape(root), "*", "*", _INFO))):
    path = os.path.dirname(info)
    rel = os.path.relpath(path, root).split(os.sep)
    if _VERSION_DIR.match(rel[-1]):  # skips "<version>.incomplete<id>" dirs
      version = tuple(int(v) for v in rel[-1].split("."))
      found.append((version, rel[0] if len(rel) == 2 else None, path))
  if not found:
    raise FileNotFoundError(
        f"TFDS dataset {name!r} is not prepared in data_dir {data_dir!r} "
        f"(found no {root}/[<config>/]<version>/{_INFO}), and jaxrobust never "
        "downloads. Prepare it once where there is network access (TensorFlow "
        "is needed to prepare, not to read array_record):\n  "
        f"{prepare_command(name, data_dir)}\nIf it is prepared elsewhere, "
        f"copy its {name}/ folder into {data_dir!r}, or pass data_dir= / set "
        "$TFDS_DATA_DIR to the directory holding it.")
  version, config, path = max(found, key=lambda f: f[0])
  full = f"{name}/{config}" if config else name
  return f"{full}:{'.'.join(map(str, version))}", path


def _file_formats(path: str) -> list[str]:
  """File formats a prepared dataset is available in, primary first."""
  with open(os.path.join(path, _INFO)) as f:
    info = json.load(f)
  if "fileFormat" in info:
    return [info["fileFormat"], *info.get("alternativeFileFormats", [])]
  # Older TFDS left the field out: fall back to the shard names.
  files = os.listdir(path)
  return [fmt for fmt in ("array_record", "tfrecord")
          if any(f".{fmt}-" in f for f in files)] or ["tfrecord"]


def _check_split(name: str, split: str, path: str) -> None:
  """Raises ValueError naming the available splits if `split` has others."""
  with open(os.path.join(path, _INFO)) as f:
    available = [s["name"] for s in json.load(f).get("splits", [])]
  # Only the base names: slicing ("train[:10%]") and "+" are TFDS's to check.
  for part in split.split("+"):
    base = part.split("[")[0].strip()
    if base not in available:
      raise ValueError(f"Unknown split {base!r} for TFDS dataset {name!r}; "
                       f"available splits: {available}.")


def _read_data_source(source) -> tuple[np.ndarray, np.ndarray]:
  """Decodes a TFDS data source into uint8 [n, h, w, c] and int32 [n]."""
  n = len(source)
  shape = tuple(source.dataset_info.features["image"].shape)
  images = np.empty((n, *shape), np.uint8)
  labels = np.empty((n,), np.int32)
  # `__getitems__` reads each chunk in one batched array_record call; item by
  # item access is ~2.5x slower on MNIST.
  for start in range(0, n, _CHUNK):
    stop = min(n, start + _CHUNK)
    records = source.__getitems__(list(range(start, stop)))
    images[start:stop] = np.stack([r["image"] for r in records]).reshape(
        stop - start, *shape)
    labels[start:stop] = [r["label"] for r in records]
  return images, labels


def _read_tf(tf, tfds, full_name: str, split: str, data_dir: str,
             file_format: str) -> tuple[np.ndarray, np.ndarray]:
  """Reads a whole split with `tfds.load`, keeping TensorFlow off the GPU."""
  try:
    # JAX owns the accelerator; a GPU TF build would otherwise grab its memory.
    tf.config.set_visible_devices([], "GPU")
  except RuntimeError:  # TF already initialized its devices elsewhere
    pass
  images, labels = tfds.as_numpy(tfds.load(
      full_name, split=split, data_dir=data_dir, download=False,
      batch_size=-1, as_supervised=True, file_format=file_format))
  if images.ndim == 3:
    images = images[..., None]
  return images.astype(np.uint8), labels.astype(np.int32)


def load_tfds(name: str, split: str, data_dir: str | None,
              backend: str = "auto") -> tuple[np.ndarray, np.ndarray]:
  """Returns images uint8 [n, h, w, c] and labels int32 [n] of a TFDS dataset.

  Args:
    name: a key of `TFDS_DATASETS`.
    split: a TFDS split string, e.g. "train", "test", "train[:10%]".
    data_dir: where the dataset is prepared; None means `default_data_dir()`.
    backend: "data_source" (array_record, no TensorFlow), "tf" (`tfds.load`,
      needs TensorFlow) or "auto" (by the prepared file format, preferring
      "data_source").

  Raises:
    ValueError: unknown name, split or backend, or a backend that cannot read
      the prepared file format.
    FileNotFoundError: the dataset is not prepared in `data_dir`.
    ImportError: the dataset is tfrecord only and TensorFlow is missing.
  """
  if name not in TFDS_DATASETS:
    raise ValueError(f"Unknown TFDS dataset {name!r}; valid choices: "
                     f"{tuple(TFDS_DATASETS)}.")
  if backend not in BACKENDS:
    raise ValueError(f"Unknown backend {backend!r}; valid choices: {BACKENDS}.")
  data_dir = os.path.expanduser(os.fspath(data_dir or default_data_dir()))
  full_name, path = _find_prepared(name, data_dir)
  _check_split(name, split, path)
  formats = _file_formats(path)
  random_access = [f for f in formats if f in _RANDOM_ACCESS_FORMATS]
  tf_readable = [f for f in formats if f != "array_record"]
  if backend == "auto":
    backend = "data_source" if random_access else "tf"
  if backend == "data_source" and not random_access:
    raise ValueError(
        f"{name!r} in {path} is stored as {formats}, which tfds.data_source "
        "cannot read; use backend='tf' (pip install tensorflow) or re-prepare "
        "it with file_format='array_record'.")
  if backend == "tf" and not tf_readable:
    raise ValueError(f"{name!r} in {path} is stored as {formats}, which "
                     "tfds.load cannot read; use backend='data_source'.")

  import tensorflow_datasets as tfds  # slow import: only when loading
  if backend == "tf":
    try:
      import tensorflow as tf
    except ImportError as e:
      raise ImportError(
          f"{name!r} in {path} is stored as {formats}, which needs TensorFlow "
          "to read: pip install tensorflow, or re-prepare it as array_record "
          f"(read without TF):\n  {prepare_command(name, data_dir)}") from e
    return _read_tf(tf, tfds, full_name, split, data_dir, tf_readable[0])
  return _read_data_source(tfds.data_source(
      full_name, split=split, data_dir=data_dir, download=False,
      builder_kwargs={"file_format": random_access[0]}))
