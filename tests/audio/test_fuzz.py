"""Bad input to audio's public entries (the front-ends, the waveform space, the speech
region, prediction): a clear error each."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import audio, models
from tests.bad_input import fuzz_test

NAN = float("nan")
KEY = jax.random.key(0)
WAVES = jnp.zeros((2, 512)).at[:, 100:200].set(0.5)


def logits_fn(u):
  return u[:, :3]


CASES = {
    "audio.stft_magnitude:nan_sample": (lambda: audio.stft_magnitude(WAVES.at[0, 3].set(NAN)),
                                        ValueError, ["waveforms", "finite"]),
    "audio.stft_magnitude:int16": (lambda: audio.stft_magnitude(WAVES.astype(jnp.int16)),
                                   TypeError, ["waveforms", "int16", "32768"]),
    "audio.stft_magnitude:one_clip": (lambda: audio.stft_magnitude(WAVES[0]), ValueError,
                                      ["waveforms", "[batch, samples]", "x[None]"]),
    "audio.power_spectrogram:hop_zero": (lambda: audio.power_spectrogram(WAVES, 64, 0),
                                         ValueError, ["hop_length", ">= 1", "0"]),
    "audio.frames:n_fft_one": (lambda: audio.frames(WAVES, 1, 1), ValueError,
                               ["n_fft", ">= 2", "1"]),
    "audio.mel_filterbank:no_mels": (lambda: audio.mel_filterbank(8000, 256, 0), ValueError,
                                     ["n_mels", ">= 1", "0"]),
    "audio.mel_filterbank:too_many_mels": (lambda: audio.mel_filterbank(8000, 256, 200),
                                           ValueError, ["n_mels=200", "cover no FFT bin"]),
    "audio.mel_filterbank:fmax_above_nyquist": (
        lambda: audio.mel_filterbank(8000, 256, 40, fmax=5000.0), ValueError,
        ["fmax=5000.0", "sample_rate / 2"]),
    "audio.mel_spectrogram:rate_zero": (lambda: audio.mel_spectrogram(WAVES, 0), ValueError,
                                        ["sample_rate", ">= 1", "0"]),
    "audio.log_mel_spectrogram:nan_sample": (
        lambda: audio.log_mel_spectrogram(WAVES.at[1, 0].set(NAN), 8000), ValueError,
        ["waveforms", "finite"]),
    "audio.mfcc:n_mfcc_above_mels": (lambda: audio.mfcc(WAVES, 8000, n_mfcc=50, n_mels=40),
                                     ValueError, ["n_mfcc", "50", "40"]),
    "audio.dct_matrix:n_out_zero": (lambda: audio.dct_matrix(40, 0), ValueError,
                                    ["n_out", "[1, 40]", "0"]),
    "audio.hann_window:n_zero": (lambda: audio.hann_window(0), ValueError, ["n", ">= 1", "0"]),
    "audio.power_to_db:top_db_negative": (lambda: audio.power_to_db(jnp.ones((1, 4)), top_db=-10.0),
                                          ValueError, ["top_db", ">= 0", "-10.0"]),
    "audio.power_to_db:amin_negative": (lambda: audio.power_to_db(jnp.ones((1, 4)), amin=-1.0),
                                        ValueError, ["amin", "> 0", "-1.0"]),
    "audio.to_unit:above_one": (lambda: audio.to_unit(jnp.array([[0.5, 8.0]])), ValueError,
                                ["waveforms", "[-1.0, 1.0]", "8.0"]),
    "audio.from_unit:negative": (lambda: audio.from_unit(jnp.array([[-0.5]])), ValueError,
                                 ["u", "[0.0, 1.0]"]),
    "audio.unit_eps:negative": (lambda: audio.unit_eps(-0.01), ValueError,
                                ["amplitude", "-0.01"]),
    "audio.snr_db:shapes": (lambda: audio.snr_db(WAVES, WAVES[:1]), ValueError,
                            ["clean and perturbed", "(2, 512)", "(1, 512)"]),
    "audio.speech_region:top_db_zero": (lambda: audio.speech_region(WAVES, top_db=0.0),
                                        ValueError, ["top_db", "0.0"]),
    "audio.speech_region:one_clip": (lambda: audio.speech_region(WAVES[0]), ValueError,
                                     ["waveforms", "[batch, samples]", "(512,)"]),
    "audio.speech_region:nan_sample": (lambda: audio.speech_region(WAVES.at[0, 0].set(NAN)),
                                       ValueError, ["waveforms", "finite"]),
    "audio.speech_mask:region_unknown": (lambda: audio.speech_mask(WAVES, "voiced"), ValueError,
                                         ["region", "'voiced'", "speech"]),
    "audio.predict:batch_zero": (lambda: audio.predict(logits_fn, WAVES, 0), ValueError,
                                 ["batch_size", ">= 1", "0"]),
    "audio.accuracy:lengths": (lambda: audio.accuracy(logits_fn, WAVES, np.zeros(3, np.int32)),
                               ValueError, ["inputs 2", "labels 3"]),
    "audio.train_classifier:label_negative": (
        lambda: audio.train_classifier(models.make("speech_mfcc_gru", num_classes=3, mean=(0.0,),
                                                   std=(1.0,), hidden=4),
                                       (WAVES + 1) / 2, np.array([0, -3]), key=KEY,
                                       epochs=1, batch_size=1),
        ValueError, ["labels", "-3"]),
}

test_bad_input_raises_a_clear_error = fuzz_test(CASES)
