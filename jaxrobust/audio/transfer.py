"""Transferability of audio adversarial examples, and the models' noise sensitivity.

Budgets are Linf radii in waveform amplitude (the attacks get `unit_eps` of
them; `jaxrobust.audio.space`). `fooling_matrix` crafts adversarial examples on
each source model and measures, on every target model, the fooling rate: the
fraction of the clips the target classifies correctly clean that it gets wrong
adversarially (the diagonal is white-box). `noise_sensitivity` is a model's
accuracy under additive Gaussian noise of rising standard deviation.

References: Kim, Park & Lee, "Generating Transferable Adversarial Examples for
Speech Classification", Pattern Recognition 137 (2023): transferability
relates to the models' noise sensitivity; injecting noise during the gradient
ascent (`jaxrobust.attacks.NoiseInjected`) gives more transferable examples.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from jaxrobust import _checks
from jaxrobust.attacks.registry import ATTACKS
from jaxrobust.audio.space import unit_eps
from jaxrobust.audio.training import predict

LogitsFn = Callable[[jax.Array], jax.Array]
ATTACK_NAMES = ("fgsm", "pgd", "mifgsm", "noise_injected")


def make_attack(name: str, amplitude: float, *, steps: int = 10, noise_scale: float = 2.0):
  """One of ATTACK_NAMES at Linf budget `amplitude` (waveform units), in unit space.

  Iterative attacks take `steps` sign steps of 2.5 * eps / steps (PGD: Madry's
  random start; MI-FGSM: decay 1); the noise-injected attack adds Gaussian noise
  of std noise_scale * eps before each gradient (no momentum).
  """
  _checks.check_choice("transfer attack", name, ATTACK_NAMES)
  _checks.check_int("steps", steps, 1)
  _checks.check_real("noise_scale", noise_scale, low=0)
  eps = unit_eps(amplitude)
  step = 2.5 * eps / steps
  if name == "fgsm":
    return ATTACKS.make("fgsm", eps=eps)
  if name == "pgd":
    return ATTACKS.make("pgd", eps=eps, steps=steps, step_size=step)
  if name == "mifgsm":
    return ATTACKS.make("mifgsm", eps=eps, steps=steps, step_size=step, decay=1.0)
  if name == "noise_injected":
    return ATTACKS.make("noise_injected", eps=eps, steps=steps, step_size=step,
                        noise_std=noise_scale * eps)
  raise ValueError(f"Unknown transfer attack {name!r}; valid choices: {ATTACK_NAMES}.")


def attack_in_batches(attack, logits_fn: LogitsFn, u, y, *, key: jax.Array,
                      batch_size: int = 100, mask=None) -> np.ndarray:
  """x_adv [n, samples] of unit-space clips u [n, samples], labels y [n], in batches.

  mask: optional float [n, samples], 1 where the perturbation may go (e.g.
  `jaxrobust.audio.region.speech_mask`): the attack then runs on
  z -> logits_fn(u + mask * (z - u)), so its gradients, and the returned
  u + mask * (x_adv - u), stay inside the mask (within the same Linf ball and
  box). The attack is a jit argument (its eps is data), so budgets share one
  program.
  """
  _checks.check_int("batch_size", batch_size, 1)
  _checks.check_same_length(u=u, y=y)
  if mask is not None:
    _checks.check_binary_mask("mask", mask, np.shape(u))
  if mask is None:
    run = jax.jit(lambda atk, xb, yb, k: atk(logits_fn, xb, yb, key=k))
    return np.concatenate([
        np.asarray(run(attack, jnp.asarray(u[i:i + batch_size]),
                       jnp.asarray(y[i:i + batch_size]), jax.random.fold_in(key, i)))
        for i in range(0, len(u), batch_size)])
  if np.shape(mask) != np.shape(u):
    raise ValueError(f"mask must have the clips' shape {np.shape(u)}, got {np.shape(mask)}.")

  def masked(atk, xb, yb, mb, k):
    inside = lambda z: xb + mb * (z - xb)
    return inside(atk(lambda z: logits_fn(inside(z)), xb, yb, key=k))

  run = jax.jit(masked)
  return np.concatenate([
      np.asarray(run(attack, jnp.asarray(u[i:i + batch_size]), jnp.asarray(y[i:i + batch_size]),
                     jnp.asarray(mask[i:i + batch_size], jnp.float32),
                     jax.random.fold_in(key, i)))
      for i in range(0, len(u), batch_size)])


def fooling_rate(logits_fn: LogitsFn, clean, adversarial, y) -> float:
  """Among clips logits_fn gets right clean, the fraction it gets wrong adversarially."""
  _checks.check_same_length(clean=clean, adversarial=adversarial, y=y)
  right = predict(logits_fn, clean) == np.asarray(y)
  if not right.any():
    return float("nan")
  return float(np.mean(predict(logits_fn, adversarial)[right] != np.asarray(y)[right]))


def fooling_matrix(logits_fns: Mapping[str, LogitsFn], adversarial: Mapping[str, np.ndarray],
                   clean, y) -> np.ndarray:
  """[sources, targets] fooling rates; adversarial[s] was crafted on source s."""
  return np.array([[fooling_rate(logits_fns[t], clean, adversarial[s], y)
                    for t in logits_fns] for s in adversarial])


def noise_sensitivity(logits_fn: LogitsFn, u, y, stds: Sequence[float], *,
                      key: jax.Array) -> list[float]:
  """Accuracy under waveform noise N(0, std^2) (amplitude units), clipped to the box, per std."""
  _checks.check_same_length(u=u, y=y)
  for i, std in enumerate(stds):
    _checks.check_real(f"stds[{i}]", std, low=0)
  out = []
  for i, std in enumerate(stds):
    noise = np.asarray(jax.random.normal(jax.random.fold_in(key, i), np.shape(u)))
    noisy = np.clip(np.asarray(u) + unit_eps(std) * noise, 0.0, 1.0)
    out.append(float(np.mean(predict(logits_fn, noisy) == np.asarray(y))))
  return out


def correlation(x: Sequence[float], y: Sequence[float]) -> dict:
  """Pearson and Spearman correlations (with p-values) of paired values; NaN pairs dropped."""
  x, y = np.asarray(x, float), np.asarray(y, float)
  ok = np.isfinite(x) & np.isfinite(y)
  if ok.sum() < 3 or np.std(x[ok]) == 0 or np.std(y[ok]) == 0:
    return {"n": int(ok.sum()), "pearson": float("nan"), "pearson_p": float("nan"),
            "spearman": float("nan"), "spearman_p": float("nan")}
  p = stats.pearsonr(x[ok], y[ok])
  s = stats.spearmanr(x[ok], y[ok])
  return {"n": int(ok.sum()), "pearson": float(p[0]), "pearson_p": float(p[1]),
          "spearman": float(s[0]), "spearman_p": float(s[1])}
