"""Spoken digits (FSDD) as fixed-length float32 waveforms, from a folder of WAVs or TFDS.

The Free Spoken Digit Dataset: 3,000 mono 8 kHz recordings, 6 speakers x 10
digits x 50, named `{digit}_{speaker}_{index}.wav`. Two tasks share it:
"digits" (command recognition, 10 classes) and "speakers" (speaker
identification, 6 classes). The authors' split: indices 0-4 of every
(speaker, digit) are the test split, 5-49 the training split.

Sources, tried in this order (`load_fsdd`):
  folder  `path=` or $JAXROBUST_FSDD_DIR: a folder holding the WAVs (or a
          `recordings/` folder of them), the dataset's GitHub layout;
  tfds    `spoken_digit` prepared in a TFDS data_dir (never downloaded); its
          one "train" split is split by the file names' indices here.
Neither there -> FileNotFoundError saying how to get either.

Waveforms are int16 / 32768 in [-1, 1), cropped to their first `num_samples`
samples or zero-padded at the end. Models take them in the attack space
[0, 1] through `jaxrobust.audio.to_unit` (see that module).

License: FSDD is CC BY-SA 4.0, by Zohar Jackson et al. (GitHub
Jakobovski/free-spoken-digit-dataset); keep that attribution with any copy.

References: Jackson et al., Free Spoken Digit Dataset (Zenodo, 2018).
"""

from __future__ import annotations

import dataclasses
import functools
import glob
import os
import re
import warnings
from typing import NamedTuple

import numpy as np
from scipy.io import wavfile

from jaxrobust import _checks
from jaxrobust.data import tfds_source

SAMPLE_RATE = 8000
SPEAKERS = ("jackson", "nicolas", "theo", "yweweler", "george", "lucas")
SPEECH_TASKS = ("digits", "speakers")
SPLITS = ("train", "test")
TEST_INDICES = range(5)  # the authors' test split
ENV_DIR = "JAXROBUST_FSDD_DIR"
ATTRIBUTION = ("Free Spoken Digit Dataset (Zohar Jackson et al., "
               "github.com/Jakobovski/free-spoken-digit-dataset), CC BY-SA 4.0")
_NAME = re.compile(r"^(\d)_([a-z]+)_(\d+)\.wav$")


@dataclasses.dataclass(frozen=True)
class AudioInfo:
  """Static facts about an audio task.

  Attributes:
    name: e.g. "fsdd_digits".
    num_classes: number of labels.
    class_names: one name per label.
    sample_rate: samples per second.
    num_samples: length of every waveform.
    mean, std: the model's input map, unit space [0, 1] -> waveform [-1, 1]
      ((u - 0.5) / 0.5), passed to models like an image dataset's statistics.
  """
  name: str
  num_classes: int
  class_names: tuple[str, ...]
  sample_rate: int
  num_samples: int
  mean: tuple[float, ...] = (0.5,)
  std: tuple[float, ...] = (0.5,)


class AudioDataset(NamedTuple):
  """An in-memory split: waveforms float32 [n, num_samples] in [-1, 1], labels int32 [n],
  and per clip its digit, speaker (index into SPEAKERS) and recording index (int32 [n])."""
  waveforms: np.ndarray
  labels: np.ndarray
  digits: np.ndarray
  speakers: np.ndarray
  indices: np.ndarray
  info: AudioInfo


def read_wav(path: str, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
  """One mono WAV file as float32 [samples] in [-1, 1].

  Raises ValueError naming the file and the fix for a wrong sample rate, more
  than one channel, no samples, a truncated file, NaN / inf samples or float
  samples outside [-1, 1] (refused, not clipped: the scale is unknown), or an
  unsupported sample format.
  """
  try:
    with warnings.catch_warnings(record=True) as caught:
      warnings.simplefilter("always", wavfile.WavFileWarning)
      rate, data = wavfile.read(path)
  except ValueError as e:  # scipy's message for a truncated / non-RIFF file
    raise ValueError(f"{path} is not a readable WAV file ({e}).") from e
  for w in caught:
    # scipy only warns on a data chunk shorter than its header says, and returns
    # the samples it found: a clip silently shortened (then zero-padded).
    if issubclass(w.category, wavfile.WavFileWarning) and "EOF" in str(w.message):
      raise ValueError(f"{path} is truncated ({w.message}); re-copy or re-record it.")
  if rate != sample_rate:
    raise ValueError(f"{path} is sampled at {rate} Hz, expected {sample_rate} Hz; resample "
                     f"it first (e.g. librosa.resample(y, orig_sr={rate}, "
                     f"target_sr={sample_rate}) or `sox in.wav -r {sample_rate} out.wav`).")
  if data.ndim != 1:
    raise ValueError(f"{path} has {data.shape[1]} channels, expected mono; mix it down first "
                     "(e.g. y.mean(axis=1), or `sox in.wav -c 1 out.wav`).")
  if data.size == 0:
    raise ValueError(f"{path} holds no samples (an empty recording); remove it or "
                     "re-record it.")
  if data.dtype == np.int16:
    return data.astype(np.float32) / 32768.0
  if data.dtype == np.int32:
    return (data.astype(np.float64) / 2.0 ** 31).astype(np.float32)
  if data.dtype == np.uint8:
    return (data.astype(np.float32) - 128.0) / 128.0
  if np.issubdtype(data.dtype, np.floating):
    _checks.check_array_range(f"the samples of {path}", data, -1.0, 1.0,
                              "float WAVs hold samples in [-1, 1]; rescale the file")
    return data.astype(np.float32)
  raise ValueError(f"{path} has sample format {data.dtype}, expected PCM int16/int32/uint8 "
                   "or float.")


def write_wav(path: str, waveform, sample_rate: int = SAMPLE_RATE) -> None:
  """Writes float [samples] in [-1, 1] as 16-bit PCM (what every player reads)."""
  w = np.asarray(waveform, np.float64)
  if w.ndim != 1:
    raise ValueError(f"write_wav takes one waveform [samples], got shape {w.shape}.")
  _checks.check_int("sample_rate", sample_rate, 1)
  # Clipping or casting a NaN would write a different clip than the one given.
  _checks.check_array_range("waveform", w, -1.0, 1.0)
  pcm = np.clip(np.round(w * 32768.0), -32768, 32767).astype(np.int16)
  wavfile.write(path, sample_rate, pcm)


def fix_length(waveform: np.ndarray, num_samples: int) -> np.ndarray:
  """The first `num_samples` samples, zero-padded at the end if shorter."""
  out = np.zeros((num_samples,), np.float32)
  n = min(num_samples, len(waveform))
  out[:n] = waveform[:n]
  return out


def _parse(name: str, where: str) -> tuple[int, int, int]:
  """(digit, speaker index, recording index) of an FSDD file name."""
  m = _NAME.match(name)
  if not m:
    raise ValueError(f"{where}: {name!r} is not an FSDD file name "
                     "`{digit}_{speaker}_{index}.wav`.")
  digit, speaker, index = int(m.group(1)), m.group(2), int(m.group(3))
  if speaker not in SPEAKERS:
    raise ValueError(f"{where}: unknown speaker {speaker!r} in {name!r}; FSDD's "
                     f"speakers are {SPEAKERS}.")
  return digit, SPEAKERS.index(speaker), index


def _wav_folder(path: str) -> str:
  """The folder holding the WAVs: `path` or `path/recordings`."""
  if not os.path.isdir(path):
    raise FileNotFoundError(f"FSDD folder {path!r} does not exist; pass the folder that holds "
                            "the WAVs (or its parent with recordings/), e.g. a clone of "
                            "github.com/Jakobovski/free-spoken-digit-dataset.")
  for folder in (os.path.join(path, "recordings"), path):
    if glob.glob(os.path.join(glob.escape(folder), "*.wav")):
      return folder
  raise FileNotFoundError(f"FSDD folder {path!r} holds no .wav files (neither in it nor in "
                          "its recordings/ folder).")


def _read_folder(path: str, num_samples: int):
  """Every clip of a folder: (waveforms [n, num_samples], digit, speaker, index), cached
  per (folder, its files' names, sizes and mtimes): a changed folder is read again."""
  folder = _wav_folder(path)
  names = tuple(sorted(os.path.basename(f) for f in glob.glob(os.path.join(
      glob.escape(folder), "*.wav"))))
  stats = tuple((n, s.st_size, s.st_mtime_ns) for n, s in
                ((n, os.stat(os.path.join(folder, n))) for n in names))
  return _read_files(folder, stats, num_samples)


@functools.lru_cache(maxsize=4)
def _read_files(folder: str, stats: tuple, num_samples: int):
  names = [n for n, _, _ in stats]
  meta = np.array([_parse(n, folder) for n in names], np.int32).reshape(-1, 3)
  order = np.lexsort(meta.T[::-1])  # by digit, speaker (SPEAKERS order), index
  waves = np.stack([fix_length(read_wav(os.path.join(folder, names[i])), num_samples)
                    for i in order])
  return waves, meta[order]


def _read_tfds(data_dir: str | None, num_samples: int):
  """Every clip of TFDS `spoken_digit` (prepared, never downloaded)."""
  data_dir = os.path.expanduser(os.fspath(data_dir or tfds_source.default_data_dir()))
  # Fails fast, naming the prepare command, when it is not prepared.
  full_name, path = tfds_source._find_prepared("spoken_digit", data_dir)  # pylint: disable=protected-access
  formats = tfds_source._file_formats(path)  # pylint: disable=protected-access
  import tensorflow_datasets as tfds  # slow import: only when loading
  if "array_record" in formats:
    source = tfds.data_source(full_name, split="train", data_dir=data_dir, download=False,
                              builder_kwargs={"file_format": "array_record"})
    records = source.__getitems__(list(range(len(source))))
  else:
    records = tfds.as_numpy(tfds.load(full_name, split="train", data_dir=data_dir,
                                      download=False))
  waves, meta = [], []
  for r in records:
    name = r["audio/filename"]
    name = os.path.basename(name.decode() if isinstance(name, bytes) else str(name))
    meta.append(_parse(name, f"TFDS spoken_digit in {path}"))
    audio = np.asarray(r["audio"])
    if audio.ndim != 1 or audio.size == 0:
      raise ValueError(f"TFDS spoken_digit record {name!r} has audio of shape {audio.shape}; "
                       "expected mono samples.")
    waves.append(fix_length(audio.astype(np.float32) / 32768.0, num_samples))
  order = np.lexsort(np.array(meta).T[::-1])  # as the folder's: digit, speaker, index
  return np.stack(waves)[order], np.array(meta, np.int32)[order]


def _task_info(task: str, num_samples: int) -> AudioInfo:
  if task == "digits":
    return AudioInfo("fsdd_digits", 10, tuple(str(d) for d in range(10)), SAMPLE_RATE,
                     num_samples)
  return AudioInfo("fsdd_speakers", len(SPEAKERS), SPEAKERS, SAMPLE_RATE, num_samples)


def load_fsdd(split: str, task: str = "digits", *, path: str | None = None,
              data_dir: str | None = None, num_samples: int = SAMPLE_RATE) -> AudioDataset:
  """One split of FSDD for one task, as fixed-length waveforms.

  Args:
    split: "train" (indices 5-49) or "test" (indices 0-4, the authors' split).
    task: "digits" (labels 0-9) or "speakers" (labels index `SPEAKERS`).
    path: a folder of FSDD WAVs (or its parent with recordings/); default
      $JAXROBUST_FSDD_DIR, then TFDS.
    data_dir: TFDS data_dir holding a prepared `spoken_digit` (when no folder).
    num_samples: length of every waveform (8000 = 1 s at 8 kHz).

  Returns:
    `AudioDataset`, clips ordered by digit, speaker (`SPEAKERS` order), index.

  Raises:
    ValueError: unknown split/task, bad num_samples, or a bad file (wrong rate,
      stereo, empty, not an FSDD name).
    FileNotFoundError: the folder is missing, or neither source is there.
  """
  if split not in SPLITS:
    raise ValueError(f"Unknown split {split!r}; valid splits: {SPLITS}.")
  if task not in SPEECH_TASKS:
    raise ValueError(f"Unknown task {task!r}; valid tasks: {SPEECH_TASKS}.")
  if not isinstance(num_samples, int) or num_samples < 1:
    raise ValueError(f"num_samples must be an integer >= 1, got {num_samples!r}.")
  path = path or os.environ.get(ENV_DIR) or None
  if path is not None:
    waves, meta = _read_folder(os.path.abspath(os.path.expanduser(path)), num_samples)
  else:
    try:
      waves, meta = _read_tfds(data_dir, num_samples)
    except FileNotFoundError as e:
      raise FileNotFoundError(
          "FSDD not found: no folder given (path= or $" + ENV_DIR + ") and TFDS "
          "`spoken_digit` is not prepared. Either clone "
          "github.com/Jakobovski/free-spoken-digit-dataset and pass path=<clone> (or set "
          f"${ENV_DIR}), or prepare TFDS:\n  "
          f"{tfds_source.prepare_command('spoken_digit', data_dir or tfds_source.default_data_dir())}"
          f"\n(TFDS said: {e})") from e
  digit, speaker, index = meta[:, 0], meta[:, 1], meta[:, 2]
  keep = np.isin(index, TEST_INDICES) if split == "test" else ~np.isin(index, TEST_INDICES)
  if not keep.any():
    raise ValueError(f"FSDD source holds no {split} clips (test = indices 0-4).")
  labels = digit if task == "digits" else speaker
  return AudioDataset(waves[keep], labels[keep].astype(np.int32), digit[keep], speaker[keep],
                      index[keep], _task_info(task, num_samples))
