"""FSDD loading: splits, tasks, fixed length; clear errors for bad files and missing data.

Data: Free Spoken Digit Dataset (Zohar Jackson et al.), CC BY-SA 4.0.
"""

import os

import numpy as np
import pytest
from scipy.io import wavfile

from jaxrobust.data import audio
from tests.audio.fsdd import FSDD_DIR, requires_fsdd


@requires_fsdd
def test_splits_tasks_and_lengths():
  train = audio.load_fsdd("train", "digits", path=FSDD_DIR)
  test = audio.load_fsdd("test", "speakers", path=FSDD_DIR, num_samples=4000)
  assert train.waveforms.shape == (2700, 8000) and train.waveforms.dtype == np.float32
  assert test.waveforms.shape == (300, 4000)
  assert set(np.unique(train.indices)) == set(range(5, 50))
  assert set(np.unique(test.indices)) == set(range(5))
  np.testing.assert_array_equal(train.labels, train.digits)
  np.testing.assert_array_equal(test.labels, test.speakers)
  assert np.bincount(test.labels).tolist() == [50] * 6
  assert test.info.num_classes == 6 and train.info.num_classes == 10
  assert np.abs(train.waveforms).max() <= 1.0
  # Clips ordered by digit, speaker, index: the first training clip is jackson's 0 #5;
  # int16 / 32768, padded with zeros.
  assert (train.digits[0], train.speakers[0], train.indices[0]) == (0, 0, 5)
  rate, raw = wavfile.read(os.path.join(FSDD_DIR, "recordings", "0_jackson_5.wav"))
  assert rate == 8000
  np.testing.assert_array_equal(train.waveforms[0, :len(raw)], raw / 32768.0)
  assert not train.waveforms[0, len(raw):].any()


def _write(path, rate, data):
  wavfile.write(str(path), rate, data)
  return str(path)


def test_bad_files_get_clear_errors(tmp_path):
  clip = (np.sin(np.arange(800) / 5) * 1e4).astype(np.int16)
  with pytest.raises(ValueError, match="16000 Hz, expected 8000 Hz; resample"):
    audio.read_wav(_write(tmp_path / "a.wav", 16000, clip))
  with pytest.raises(ValueError, match="2 channels, expected mono"):
    audio.read_wav(_write(tmp_path / "b.wav", 8000, np.stack([clip, clip], 1)))
  with pytest.raises(ValueError, match="holds no samples"):
    audio.read_wav(_write(tmp_path / "c.wav", 8000, clip[:0]))
  (tmp_path / "d.wav").write_bytes(b"not a wav")
  with pytest.raises(ValueError, match="not a readable WAV"):
    audio.read_wav(str(tmp_path / "d.wav"))
  folder = tmp_path / "fsdd"
  folder.mkdir()
  _write(folder / "3_jackson_0.wav", 8000, clip)
  _write(folder / "3_jackson_7.wav", 8000, clip[:0])
  with pytest.raises(ValueError, match="3_jackson_7.wav holds no samples"):
    audio.load_fsdd("test", path=str(folder))
  os.remove(folder / "3_jackson_7.wav")
  _write(folder / "3_alice_7.wav", 8000, clip)
  with pytest.raises(ValueError, match="unknown speaker 'alice'"):
    audio.load_fsdd("test", path=str(folder))
  os.remove(folder / "3_alice_7.wav")
  # A valid small folder: one test clip, no train clips.
  test = audio.load_fsdd("test", path=str(folder), num_samples=1000)
  assert test.labels.tolist() == [3] and test.waveforms.shape == (1, 1000)
  with pytest.raises(ValueError, match="holds no train clips"):
    audio.load_fsdd("train", path=str(folder))


def test_missing_data_and_bad_arguments(tmp_path, monkeypatch):
  with pytest.raises(FileNotFoundError, match="does not exist"):
    audio.load_fsdd("train", path=str(tmp_path / "nowhere"))
  with pytest.raises(FileNotFoundError, match="holds no .wav files"):
    audio.load_fsdd("train", path=str(tmp_path))
  monkeypatch.delenv(audio.ENV_DIR, raising=False)
  # Neither a folder nor a prepared TFDS spoken_digit: both ways to fix it are named.
  with pytest.raises(FileNotFoundError, match=r"(?s)FSDD not found.*JAXROBUST_FSDD_DIR.*"
                                              r"spoken_digit.*download_and_prepare"):
    audio.load_fsdd("train", data_dir=str(tmp_path))
  with pytest.raises(ValueError, match="Unknown split"):
    audio.load_fsdd("validation", path=str(tmp_path))
  with pytest.raises(ValueError, match="Unknown task"):
    audio.load_fsdd("train", "emotion", path=str(tmp_path))
  with pytest.raises(ValueError, match="one waveform"):
    audio.write_wav(str(tmp_path / "x.wav"), np.zeros((2, 10)))


def test_write_read_round_trip(tmp_path):
  w = np.linspace(-1, 0.999, 500).astype(np.float32)
  audio.write_wav(str(tmp_path / "w.wav"), w)
  np.testing.assert_allclose(audio.read_wav(str(tmp_path / "w.wav")), w, atol=1 / 32768)
