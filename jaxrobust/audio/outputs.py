"""What people listen to and look at: clean/adversarial WAV pairs and spectrogram PNGs."""

from __future__ import annotations

import os
from typing import Sequence

import jax.numpy as jnp
import matplotlib
import numpy as np

from jaxrobust.models import frontends as features
from jaxrobust.audio.space import snr_db
from jaxrobust.data.audio import ATTRIBUTION, write_wav

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def spectrogram_figure(clean, adversarial, path: str, sample_rate: int = 8000,
                       title: str = "") -> None:
  """A PNG of three dB spectrograms: clean, adversarial, and their difference (adv - clean)
  of one waveform pair [samples] each in [-1, 1]."""
  w = jnp.asarray(np.stack([clean, adversarial, np.asarray(adversarial) - np.asarray(clean)]))
  db = np.asarray(features.power_to_db(features.power_spectrogram(w), top_db=None))
  vmax = db[:2].max()
  fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), sharey=True)
  for ax, d, name in zip(axes, db, ("clean", "adversarial", "difference (adv - clean)")):
    im = ax.imshow(d.T, origin="lower", aspect="auto", vmin=vmax - 80, vmax=vmax,
                   extent=(0, len(clean) / sample_rate, 0, sample_rate / 2), cmap="magma")
    ax.set_title(name, fontsize=9)
    ax.set_xlabel("time (s)")
  axes[0].set_ylabel("frequency (Hz)")
  fig.subplots_adjust(top=0.82, bottom=0.22, right=0.88)
  fig.colorbar(im, ax=axes, label="dB", shrink=0.8)
  fig.suptitle(title, fontsize=9)
  fig.text(0.01, 0.01, f"Data: {ATTRIBUTION}", fontsize=6)
  fig.savefig(path, dpi=90)
  plt.close(fig)


def write_examples(folder: str, clean, adversarial, names: Sequence[str],
                   sample_rate: int = 8000) -> list[dict]:
  """Writes <name>_clean.wav, <name>_adv.wav and <name>.png per pair; returns one record
  per pair (files and SNR in dB). clean, adversarial: waveforms [n, samples] in [-1, 1]."""
  os.makedirs(folder, exist_ok=True)
  snr = np.asarray(snr_db(clean, adversarial))
  records = []
  for i, name in enumerate(names):
    files = {k: os.path.join(folder, f"{name}_{k}.wav") for k in ("clean", "adv")}
    write_wav(files["clean"], clean[i], sample_rate)
    write_wav(files["adv"], adversarial[i], sample_rate)
    png = os.path.join(folder, f"{name}.png")
    spectrogram_figure(clean[i], adversarial[i], png, sample_rate,
                       title=f"{name}  (SNR {snr[i]:.1f} dB)")
    records.append({"name": name, "clean_wav": files["clean"], "adv_wav": files["adv"],
                    "png": png, "snr_db": float(snr[i])})
  with open(os.path.join(folder, "ATTRIBUTION.txt"), "w") as f:
    f.write(f"The clean clips and the adversarial clips derived from them: {ATTRIBUTION}.\n"
            "Licensed CC BY-SA 4.0; keep this attribution with any copy.\n")
  return records
