"""Gradient-masking diagnostics: the checks a careful evaluator runs.

Each statistic is a pure, jit-able function returning arrays; `masking_warnings`
turns their (host) values into the report's warnings. A robustness claim is
suspect when (Athalye et al., Sec. 3.1 and 6; Carlini et al., Sec. 5):
  * the forward pass is random (white-box gradients need EOT);
  * input gradients are zero or vanishing (shattered / masked gradients);
  * a black-box attack breaks points the white-box attacks could not;
  * robust accuracy does not reach ~0 at a radius that covers the whole box;
  * robust accuracy is not non-increasing in eps.

References:
  Athalye, Carlini & Wagner, "Obfuscated Gradients Give a False Sense of
  Security", ICML 2018. Carlini et al., "On Evaluating Adversarial Robustness",
  arXiv:1902.06705, 2019.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import _checks, attacks
from jaxrobust.attacks.pgd import madry_pgd
from jaxrobust.losses import cw_margin


@dataclasses.dataclass(frozen=True)
class Thresholds:
  """When a statistic becomes a warning (fractions of examples, accuracy points).

  random_predictions: fraction of examples whose predicted class changes across
    forward passes with different keys.
  zero_gradients: fraction of examples whose margin gradient is zero/non-finite.
  blackbox_gain: fraction broken by black-box attacks after every white-box one.
  huge_eps_accuracy: accuracy allowed at a radius that covers the whole box.
  monotone_tolerance: rise of accuracy allowed between consecutive radii.
  """
  random_predictions: float = 0.0
  zero_gradients: float = 0.01
  blackbox_gain: float = 0.005
  huge_eps_accuracy: float = 0.05
  monotone_tolerance: float = 0.005


def prediction_randomness(logits_fn: Callable[[jax.Array, jax.Array], jax.Array],
                          x: jax.Array, key: jax.Array, draws: int = 4) -> jax.Array:
  """Fraction of examples whose argmax differs across `draws` forward passes.

  Args:
    logits_fn: (x [b, ...], key) -> logits [b, classes]; a deterministic model
      is `lambda x, key: f(x)` (and scores 0).
    x: inputs [b, ...]; key: PRNG key; draws: forward passes (>= 2).
  """
  if draws < 2:
    raise ValueError(f"draws must be >= 2 to compare forward passes, got {draws}.")
  preds = jax.vmap(lambda k: logits_fn(x, k).argmax(-1))(jax.random.split(key, draws))
  return jnp.mean(jnp.any(preds != preds[:1], axis=0))


def zero_gradient_fraction(logits_fn: attacks.LogitsFn, x: jax.Array, y: jax.Array,
                           tol: float = 1e-12) -> jax.Array:
  """Fraction of examples whose input gradient of the margin is ~0 or non-finite.

  The CW margin max_{j!=y} z_j - z_y is used rather than cross-entropy: its
  gradient does not vanish on confidently classified points of an honest
  network, so a zero here means the gradient itself is masked (e.g. a
  quantising or non-differentiable input transform).
  """
  grad = attacks.input_gradient(logits_fn, cw_margin, x, y)
  norms = attacks.perturbation_norm(grad, "l2")
  return jnp.mean((norms <= tol) | ~jnp.isfinite(norms))


def huge_eps(norm: str, input_shape: Sequence[int]) -> float:
  """A radius whose ball covers the whole [0, 1] box around any point."""
  _checks.check_choice("norm", norm, attacks.NORMS)
  d = math.prod(input_shape)
  return {"linf": 1.0, "l2": math.sqrt(d), "l1": float(d)}[norm]


def huge_eps_accuracy(logits_fn: attacks.LogitsFn, x: jax.Array, y: jax.Array, *,
                      key: jax.Array, norm: str = "linf", steps: int = 50) -> jax.Array:
  """Accuracy under PGD at `huge_eps(norm)`: ~0 for any model whose gradients work.

  The ball covers the box, so every image is reachable; only a masked gradient
  (or a constant classifier) keeps the accuracy up. PGD starts at x, not at a
  random point: a random image of the box is misclassified anyway, which
  would hide a gradient that does not work.
  """
  eps = huge_eps(norm, x.shape[1:])
  attack = madry_pgd(eps=eps, steps=steps, norm=norm, loss="cw", random_start=False)
  x_adv = attack(logits_fn, x, y, key=key)
  return jnp.mean(logits_fn(x_adv).argmax(-1) == y)


def largest_accuracy_rise(accuracies: jax.Array) -> jax.Array:
  """max_k (acc[k+1] - acc[k]) over a curve at increasing eps (<= 0 if monotone)."""
  accuracies = jnp.asarray(accuracies)
  if accuracies.shape[0] < 2:
    return jnp.zeros(())
  return jnp.max(jnp.diff(accuracies))


def blackbox_gain(whitebox_correct: jax.Array, blackbox_correct: jax.Array) -> jax.Array:
  """Fraction of examples robust to every white-box attack but broken by a black-box one.

  Args:
    whitebox_correct: bool [n], correct after all white-box attacks.
    blackbox_correct: bool [n], correct under the black-box attack(s).
  """
  return jnp.mean(jnp.asarray(whitebox_correct) & ~jnp.asarray(blackbox_correct))


# statistic -> (Thresholds field, warning for value v); a warning fires when v > threshold.
_WARNINGS = {
    "random_predictions": ("random_predictions", lambda v: (
        f"the forward pass is random ({100 * v:.1f}% of predictions change across "
        "passes): gradients need EOT; use AutoAttack version='rand'.")),
    "zero_gradients": ("zero_gradients", lambda v: (
        f"{100 * v:.1f}% of examples have zero or non-finite input gradients: "
        "gradient masking; white-box results are not reliable.")),
    "blackbox_gain": ("blackbox_gain", lambda v: (
        f"black-box attacks broke {100 * v:.1f}% of the examples that survived every "
        "white-box attack: the white-box gradients are likely masked.")),
    "huge_eps_accuracy": ("huge_eps_accuracy", lambda v: (
        f"accuracy is {100 * v:.1f}% at a radius covering the whole input box "
        "(should be ~0): the attack's gradients do not work.")),
    "accuracy_rise": ("monotone_tolerance", lambda v: (
        f"robust accuracy rises by {100 * v:.1f} points with a larger eps (should be "
        "non-increasing): the attack is failing at large radii.")),
}


def masking_warnings(stats: Mapping[str, float],
                     thresholds: Thresholds = Thresholds()) -> list[str]:
  """The report's warnings for the statistics present in `stats`.

  Keys (each optional): random_predictions, zero_gradients, blackbox_gain,
  huge_eps_accuracy, accuracy_rise (see the functions above).
  """
  out = []
  for key, (field, message) in _WARNINGS.items():
    if key in stats:
      value = float(np.asarray(stats[key]))
      if value > getattr(thresholds, field):
        out.append(message(value))
  return out
