"""A randomized small CNN on mnist5k with and without GradDiv (issue 17, experiment 4).

The model is `randomized_cnn` with Gaussian noise on its inputs and on every
hidden activation (Liu et al.'s random self-ensemble), narrower than the
default small CNN so that GradDiv's S double-backpropagated input gradients
per example train in CPU minutes. Each entry of `variants` trains in
<workdir>/<variant> by `train.fit` (resumable); `python -m experiments.graddiv`
then evaluates every variant with the model's noise on (`eval` below) and
writes report.json, report.md and graddiv.png.

  baseline   noise training: cross-entropy of one drawn network per step
  graddiv    the same plus weight * R, R the mean resultant length of the unit
             input gradients of `samples` drawn networks (defenses.GradDiv)
  graddiv_w<weight>   GradDiv at another weight, e.g. graddiv_w1

`attack` (a PGD section, or None) makes both variants adversarial training:
PGD-AT for the baseline, GradDiv on PGD-AT's inputs for graddiv.

Measured (seed 0, 3 epochs; 500 test images, Linf eps 0.1; accuracy % as the
mean over 10 draws; R of 8 sampled gradients; transfer: PGD-10 fooling rate
among 5 sample networks, same / other network), `--config.variants=
'("baseline","graddiv_w1","graddiv_w3","graddiv")'`, 5 CPU minutes in all:
  variant     clean   PGD  EOT-PGD     R    transfer same / other
  baseline     87.4  48.6   45.1     0.86        62.0 / 38.6
  weight 1     87.3  50.3   45.4     0.79        67.6 / 34.3
  weight 3     86.5  51.6   43.0     0.62        87.6 / 30.7
  weight 10    78.9  51.3   39.3     0.46        98.5 / 26.8
GradDiv scatters the gradients (R falls toward 1/sqrt(8) = 0.35) and lowers
transfer to other sample networks, as the paper says; here it does not raise
EOT-PGD accuracy (it lowers it at weights that move R), and each single sample
network becomes easier to attack. With PGD-AT (`:adversarial`) the same holds:
EOT-PGD 61.2 (PGD-AT), 60.6 (weight 1), 45.6 (weight 10, clean 70.2).

`get_config("adversarial")` (`--config=experiments/configs/graddiv.py:adversarial`)
sets `attack` to PGD-10 (eps 0.1, step eps / 4): PGD-AT against PGD-AT + GradDiv.
`get_config("tiny")` is a seconds-long version for tests.
"""

import ml_collections

from experiments.configs import default


def get_config(mode: str = "default") -> ml_collections.ConfigDict:
  modes = ("default", "adversarial", "tiny")
  if mode not in modes:
    raise ValueError(f"Unknown config mode {mode!r}; valid choices: {modes}.")
  c = default.get_config("graddiv")
  c.epochs = 3
  c.progress = False
  c.model = ml_collections.ConfigDict({
      "name": "randomized_cnn", "features": (16, 32), "hidden": 64, "head": "identity",
      "input_noise": 0.2, "activation_noise": 0.2})
  c.monitor.enabled = False
  if "robust_gap" in c:  # the per-epoch PGD monitor would attack the deterministic twin
    c.robust_gap.num_examples = 0
  c.eval.attacks = ""  # the deterministic report is replaced by `eval` below

  c.variants = ("baseline", "graddiv")
  # GradDiv's own fields (jaxrobust.defenses.GradDiv); the baseline is "standard".
  c.graddiv = ml_collections.ConfigDict({
      "penalty": "mean_resultant_length", "weight": 10.0, "samples": 4})
  c.attack = None  # e.g. {"name": "pgd", "eps": 0.1, "step_size": 0.025, "steps": 10}
  del c["defense"]  # built per variant

  # Evaluation with the model's noise on, on the first `num_examples` test images.
  c.eval = ml_collections.ConfigDict({
      "eps": 0.1,
      "num_examples": 500,
      "repeats": 10,            # predictions per input (accuracy: mean and spread)
      "pgd_steps": 20,          # PGD = EOT-PGD with 1 draw per step (a new network each step)
      "eot_samples": 10,        # EOT-PGD's draws per step
      "transfer_networks": 5,   # sample networks of the transferability matrix
      "transfer_steps": 10,     # PGD steps on each sample network
      "concentration_samples": 8,
      "batch_size": 500,
      "seed": 0,
  })

  if mode == "adversarial":
    c.attack = ml_collections.ConfigDict(
        {"name": "pgd", "eps": 0.1, "step_size": 0.025, "steps": 10})
  if mode == "tiny":
    c.epochs = 1
    c.batch_size = 200
    c.model.features = (8, 16)
    c.model.hidden = 32
    c.graddiv.samples = 2
    c.eval.update({"num_examples": 40, "repeats": 3, "pgd_steps": 2, "eot_samples": 2,
                   "transfer_networks": 2, "transfer_steps": 2, "concentration_samples": 2,
                   "batch_size": 40})
  return c
