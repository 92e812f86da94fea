"""Datasets (embedded offline and TFDS), shuffled batching and augmentation."""

from jaxrobust.data.audio import AudioDataset, AudioInfo, load_fsdd, read_wav, write_wav
from jaxrobust.data.augment import augment, random_crop, random_flip
from jaxrobust.data.batching import (epoch_batches, epoch_permutation,
                                     num_batches, sequential_batches, to_float)
from jaxrobust.data.datasets import dataset_names, load
from jaxrobust.data.info import Dataset, DatasetInfo
from jaxrobust.data.tabular import TABULAR_DATASETS, load_tabular
from jaxrobust.data.timeseries import (SERIES, ForecastData, forecasting_split, load_series,
                                       sliding_windows)
