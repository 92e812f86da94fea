"""Tiny TFDS datasets prepared offline by TFDS's own `download_and_prepare`.

A builder defined here (same name, version and features as the registered one)
writes files with the layout and format of a real prepared dataset; nothing is
downloaded. Used by tests/data/test_tfds.py and the binaries' tests.
"""

import numpy as np

SIZES = {"train": 20, "test": 5}
# (name, version, image shape) of registered TFDS datasets.
CIFAR10 = ("cifar10", "3.0.2", (32, 32, 3))


def prepare(data_dir, spec, file_format="array_record", seed=0, sizes=None):
  """Writes a tiny `spec` dataset (sizes: split -> examples); returns
  {split: (images, labels)}."""
  import tensorflow_datasets as tfds
  from PIL import Image
  ds_name, version, shape = spec
  rng = np.random.default_rng(seed)
  data = {split: (rng.integers(0, 256, (n, *shape), np.uint8),
                  rng.integers(0, 10, n).astype(np.int32))
          for split, n in (sizes or SIZES).items()}

  class Fake(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    name = ds_name
    VERSION = tfds.core.Version(version)
    # TFDS 4.9.10 resolves code_path (to look for download checksums) through
    # the undeclared `importlib_resources` (tensorflow/datasets#11212).
    code_path = None

    def _info(self):
      return tfds.core.DatasetInfo(
          builder=self,
          features=tfds.features.FeaturesDict({
              "image": tfds.features.Image(shape=shape),
              "label": tfds.features.ClassLabel(num_classes=10)}),
          supervised_keys=("image", "label"))

    def _split_generators(self, dl_manager):
      return {s: self._generate_examples(*data[s]) for s in data}

    def _generate_examples(self, images, labels):
      for i, (image, label) in enumerate(zip(images, labels)):
        # PIL images, as TFDS needs TensorFlow to PNG-encode numpy arrays.
        yield i, {"image": Image.fromarray(image.squeeze(-1) if shape[-1] == 1
                                           else image),
                  "label": int(label)}

  Fake(data_dir=str(data_dir), file_format=file_format).download_and_prepare(
      download_config=tfds.download.DownloadConfig(try_download_gcs=False))
  return data
