"""Audio: differentiable front-ends, the waveform input space, speech training, detection."""

from jaxrobust.models.frontends import (dct_matrix, frames, hann_window, log_mel_spectrogram,
                                      mel_filterbank, mel_spectrogram, mfcc, power_spectrogram,
                                      power_to_db, stft_magnitude)
from jaxrobust.audio.networks import DetectorMLP, WaveEncoder
from jaxrobust.audio.region import REGIONS, speech_mask, speech_region
from jaxrobust.audio.space import from_unit, snr_db, to_unit, unit_eps
from jaxrobust.audio.training import accuracy, predict, train_classifier
