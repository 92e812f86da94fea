"""Tests for `jaxrobust.data.tfds_source` on tiny TFDS datasets made offline.

A builder (tests/data/tiny_tfds.py: same name, version and features as the registered one)
is prepared by TFDS's own `download_and_prepare`, so the files on disk have the
layout and format of a real prepared dataset; nothing is downloaded.
"""

import json
import os
import pathlib
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from jaxrobust.data import tfds_source
from tests.data.tiny_tfds import SIZES
from tests.data.tiny_tfds import prepare as _prepare

REPO = pathlib.Path(__file__).resolve().parents[2]
# (name, version, image shape) of registered TFDS datasets: reading goes
# through the registered builder, so version and features must match it.
MNIST = ("mnist", "3.0.1", (28, 28, 1))
STL10 = ("stl10", "1.0.0", (96, 96, 3))


class HideTensorFlow:
  """Wraps a sys.meta_path finder so that TensorFlow looks not installed.

  Neither None in sys.modules (TFDS reads `"tensorflow" in sys.modules` as
  "loaded") nor a finder that raises (`find_spec` must answer None) would do.
  """

  def __init__(self, finder):
    self._finder = finder

  def find_spec(self, name, path=None, target=None):
    if name == "tensorflow" or name.startswith("tensorflow."):
      return None
    return self._finder.find_spec(name, path, target)

  def __getattr__(self, attr):
    return getattr(self._finder, attr)


def _assert_same(got, want):
  """Same images (uint8 NHWC) and labels (int32), in any order."""
  images, labels = got
  assert images.dtype == np.uint8 and labels.dtype == np.int32
  assert images.shape == want[0].shape and labels.shape == want[1].shape
  # TFDS shuffles records when writing: compare (image, label) multisets.
  pairs = lambda x, y: sorted((i.tobytes(), int(l)) for i, l in zip(x, y))
  assert pairs(images, labels) == pairs(*want)


@pytest.fixture(scope="module")
def array_record_dir(tmp_path_factory):
  """A data_dir with tiny array_record mnist and stl10; returns (dir, data)."""
  data_dir = tmp_path_factory.mktemp("tfds_array_record")
  data = {spec[0]: _prepare(data_dir, spec, "array_record", seed)
          for seed, spec in enumerate((MNIST, STL10))}
  return data_dir, data


@pytest.mark.parametrize("name", ["mnist", "stl10"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_data_source_round_trip(array_record_dir, name, split):
  data_dir, data = array_record_dir
  had_tf = "tensorflow" in sys.modules
  got = tfds_source.load_tfds(name, split, str(data_dir))
  _assert_same(got, data[name][split])
  if not had_tf:
    assert "tensorflow" not in sys.modules


def test_data_source_reads_with_tensorflow_blocked(array_record_dir, tmp_path):
  # A fresh interpreter where `import tensorflow` fails, installed or not.
  data_dir, data = array_record_dir
  out = tmp_path / "out.npz"
  script = textwrap.dedent(f"""
      import sys
      sys.path.insert(0, {str(pathlib.Path(__file__).parent)!r})
      import test_tfds
      sys.meta_path[:] = [test_tfds.HideTensorFlow(f) for f in sys.meta_path]
      import numpy as np
      from jaxrobust.data import tfds_source
      x, y = tfds_source.load_tfds("mnist", "train", {str(data_dir)!r},
                                   backend="data_source")
      assert "tensorflow" not in sys.modules
      np.savez({str(out)!r}, images=x, labels=y)
  """)
  env = dict(os.environ, PYTHONPATH=os.pathsep.join(
      [str(REPO), os.environ.get("PYTHONPATH", "")]))
  subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO,
                 env=env, timeout=120)
  with np.load(out) as f:
    _assert_same((f["images"], f["labels"]), data["mnist"]["train"])


def test_split_slicing_and_union(array_record_dir):
  data_dir, _ = array_record_dir
  images, labels = tfds_source.load_tfds("mnist", "train[:5]+test",
                                         str(data_dir))
  assert images.shape == (5 + SIZES["test"], 28, 28, 1)
  assert labels.shape == (5 + SIZES["test"],)


def test_tfrecord_round_trip_with_tensorflow(tmp_path):
  pytest.importorskip(
      "tensorflow", reason="TensorFlow is optional: needed only to read (and "
      "here write) tfrecord datasets")
  data = _prepare(tmp_path, MNIST, "tfrecord")
  for backend in ("auto", "tf"):
    _assert_same(tfds_source.load_tfds("mnist", "train", str(tmp_path),
                                       backend=backend), data["train"])


def _fake_info(data_dir, info, shard=None):
  """Writes only a dataset_info.json (and an empty shard) for mnist 3.0.1."""
  path = data_dir / "mnist" / "3.0.1"
  path.mkdir(parents=True)
  (path / "dataset_info.json").write_text(json.dumps(info))
  if shard:
    (path / shard).touch()


@pytest.mark.parametrize("info,shard", [
    ({"fileFormat": "tfrecord", "splits": [{"name": "train"}]}, None),
    # Older TFDS wrote no fileFormat: the shard names tell.
    ({"splits": [{"name": "train"}]}, "mnist-train.tfrecord-00000-of-00001"),
])
def test_tfrecord_without_tensorflow_says_what_to_do(tmp_path, monkeypatch,
                                                     info, shard):
  _fake_info(tmp_path, info, shard)
  # As if TensorFlow were not installed, whether it is or not.
  monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
  monkeypatch.setattr(sys, "meta_path",
                      [HideTensorFlow(f) for f in sys.meta_path])
  with pytest.raises(ImportError, match="pip install tensorflow") as e:
    tfds_source.load_tfds("mnist", "train", str(tmp_path))
  assert "array_record" in str(e.value)
  with pytest.raises(ValueError, match="backend='tf'"):
    tfds_source.load_tfds("mnist", "train", str(tmp_path),
                          backend="data_source")


def test_array_record_refuses_tf_backend(array_record_dir):
  data_dir, _ = array_record_dir
  with pytest.raises(ValueError, match="backend='data_source'"):
    tfds_source.load_tfds("mnist", "train", str(data_dir), backend="tf")


def test_unprepared_fails_fast_with_prepare_command(tmp_path):
  # An unfinished preparation must not count as prepared.
  (tmp_path / "cifar10" / "3.0.2.incomplete1A2B").mkdir(parents=True)
  (tmp_path / "cifar10" / "3.0.2.incomplete1A2B" / "dataset_info.json").touch()
  start = time.perf_counter()
  with pytest.raises(FileNotFoundError) as e:
    tfds_source.load_tfds("cifar10", "train", str(tmp_path))
  assert time.perf_counter() - start < 2.0
  message = str(e.value)
  assert "'cifar10'" in message and str(tmp_path) in message
  assert tfds_source.prepare_command("cifar10", str(tmp_path)) in message
  assert "file_format='array_record'" in message


def test_default_data_dir_follows_env(tmp_path, monkeypatch):
  monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "nowhere"))
  with pytest.raises(FileNotFoundError, match="nowhere"):
    tfds_source.load_tfds("mnist", "train", None)


def test_unknown_name_split_backend(array_record_dir):
  data_dir = str(array_record_dir[0])
  with pytest.raises(ValueError, match="valid choices.*cifar10"):
    tfds_source.load_tfds("imagenet", "train", data_dir)
  with pytest.raises(ValueError, match=r"splits: \['train', 'test'\]"):
    tfds_source.load_tfds("mnist", "validation", data_dir)
  with pytest.raises(ValueError, match="valid choices.*data_source"):
    tfds_source.load_tfds("mnist", "train", data_dir, backend="torch")


def test_infos_are_consistent():
  for name, info in tfds_source.TFDS_DATASETS.items():
    channels = info.input_shape[-1]
    assert info.name == name
    assert len(info.mean) == len(info.std) == channels
    assert all(0 < m < 1 and 0 < s < 1 for m, s in zip(info.mean, info.std))
