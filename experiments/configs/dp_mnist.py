"""DP-SGD / DP-SAT on mnist5k (offline) at a target (epsilon, delta).

The noise multiplier is calibrated (dp_accounting, RDP) so that `epochs`
epochs of Poisson-sampled steps at rate expected_batch_size / N spend exactly
target_epsilon at delta. Small CNN without BatchNorm (BatchNorm mixes
examples and breaks per-example clipping).
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.dataset = "mnist5k"
  c.data_dir = ""
  c.eval_batch_size = 500
  c.progress = True

  c.model = ml_collections.ConfigDict({"name": "small_cnn"})

  c.method = "dp_sgd"          # dp_sgd | dp_sat
  c.rho = 0.03                 # DP-SAT radius (ignored by dp_sgd)
  c.target_epsilon = 2.0
  c.delta = 1e-5
  c.accountant = "rdp"         # rdp | pld (calibration and reports)
  c.epochs = 10                # expected passes over the data: steps = epochs / q
  c.expected_batch_size = 256  # q * N
  c.l2_clip = 1.0
  c.clipping = "ghost"         # ghost | vmap
  c.microbatch_size = 0        # vmap mode: 0 = whole batch at once
  # Padded Poisson batch sizes: binomial tail probabilities (privacy.sampling.bucket_sizes);
  # () pads every step to the one physical size; None: by backend (train.dp:
  # (0.3, 0.01) on CPU, () on accelerators). Privacy is the same either way.
  c.bucket_tail_probs = ml_collections.FieldReference(None, field_type=tuple)

  # DP adversarial training: eps > 0 runs PGD inside each example's loss.
  c.adversarial = ml_collections.ConfigDict({"eps": 0.0, "steps": 5, "step_size": 0.0})

  c.optimizer = ml_collections.ConfigDict({
      "name": "sgd", "learning_rate": 0.1, "momentum": 0.9, "schedule": "cosine",
      "warmup_steps": 0, "weight_decay": 0.0})
  return c
