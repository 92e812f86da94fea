"""Evaluation of randomized models: `logits_fn(x, key)` draws a network per key.

  repeated_correct / accuracy_spread   the final prediction repeated over R
      draws: accuracy as an expectation over the model's randomness, with its
      spread across draws (and per-example agreement)
  attack_points                        x_adv from any attack: an EOT or rand
      attack (`takes_key`) sees the randomized model itself, any other attack
      one sample network drawn by a key of its own
  randomized_report                    clean and attacked accuracy over a
      whole split, each as the expectation and spread over R draws
  transfer_matrix / transfer_outcomes  fooling rate of adversarial examples
      made on sample network i against sample network j, [M, M]
  gradient_concentration_report        concentration of the sampled input
      gradients (`jaxrobust.defenses.graddiv`) over a split

References: Athalye, Carlini & Wagner, "Obfuscated Gradients Give a False
Sense of Security", ICML 2018 (EOT); Lee, Kim & Lee, "GradDiv", IEEE TPAMI 2022
(arXiv:2107.02425) for transferability among sample models.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import _checks
from jaxrobust.attacks.apgd import APGD, APGDT
from jaxrobust.attacks.autoattack import AutoAttack
from jaxrobust.attacks.eot import EOTPGD
from jaxrobust.data import sequential_batches, to_float
from jaxrobust.defenses import graddiv
from jaxrobust.models.randomized import NOISE

RandomizedLogitsFn = Callable[[jax.Array, jax.Array], jax.Array]

# fold_in tags of the independent streams of one batch
_ATTACK, _NETWORK, _PREDICT = range(3)


def takes_key(attack) -> bool:
  """Whether `attack` attacks a randomized `logits_fn(x, key)` itself: EOT-PGD, AutoAttack's
  rand version, APGD / APGD-T with eot_iter > 1."""
  if isinstance(attack, EOTPGD):
    return True
  if isinstance(attack, AutoAttack):
    return attack.version == "rand"
  if isinstance(attack, (APGD, APGDT)):
    return attack.eot_iter > 1
  return False


def attack_points(attack, logits_fn: RandomizedLogitsFn, x: jax.Array, y: jax.Array, *,
                  key: jax.Array) -> jax.Array:
  """x_adv of `attack` (None: x) against the randomized model.

  An attack that `takes_key` gets `logits_fn` itself; any other attack sees
  the one sample network logits_fn(., k), k drawn from `key` (a fixed network
  for the whole attack; `attacks.EOTPGD(eot_iter=1)` is PGD with a new draw
  every step).
  """
  if attack is None:
    return x
  attack_key, network_key = jax.random.split(key)
  if takes_key(attack):
    return attack(logits_fn, x, y, key=attack_key)
  return attack(lambda z: logits_fn(z, network_key), x, y, key=attack_key)


def repeated_correct(logits_fn: RandomizedLogitsFn, x: jax.Array, y: jax.Array, *,
                     key: jax.Array, repeats: int) -> jax.Array:
  """Correctness of `repeats` independent predictions of each input, bool [repeats, batch]."""
  _checks.check_int_at_least("repeats", repeats, 1)
  keys = jax.random.split(key, repeats)
  return jax.vmap(lambda k: logits_fn(x, k).argmax(-1) == y)(keys)


def accuracy_spread(correct) -> dict[str, Any]:
  """Summary of correctness [repeats, n]: the accuracy as an expectation over draws and its spread.

  mean: mean accuracy over draws (the expected accuracy of one prediction);
  std / min / max: of the per-draw accuracies; per_draw: each draw's accuracy;
  always / majority: fraction of examples correct in every draw / in more
  than half of the draws (a majority vote of the draws).
  """
  correct = np.asarray(correct, bool)
  if correct.ndim != 2 or not correct.size:
    raise ValueError(f"correct must be a non-empty bool array [repeats, n], got shape "
                     f"{correct.shape}.")
  per_draw = correct.mean(axis=1)
  votes = correct.mean(axis=0)
  return {"mean": float(per_draw.mean()), "std": float(per_draw.std()),
          "min": float(per_draw.min()), "max": float(per_draw.max()),
          "per_draw": per_draw.tolist(), "always": float((votes == 1).mean()),
          "majority": float((votes > 0.5).mean()), "repeats": int(correct.shape[0])}


def _apply_fn(model) -> Callable[[Any, jax.Array, jax.Array], jax.Array]:
  return lambda variables, x, key: model.apply(variables, x, train=False, rngs={NOISE: key})


def _check_split(images, labels) -> None:
  _checks.check_same_length(images=images, labels=labels)
  if not len(labels):
    raise ValueError("images and labels hold no examples: nothing to evaluate.")


def _padded_batches(images, labels, batch_size):
  """(x, y, n) per batch, the last one padded to batch_size (one compiled shape)."""
  for x, y in sequential_batches(images, labels, batch_size):
    n = len(y)
    if n < batch_size:
      x = np.concatenate([x, np.zeros((batch_size - n,) + x.shape[1:], x.dtype)])
      y = np.concatenate([y, np.zeros((batch_size - n,), y.dtype)])
    yield x, y, n


def randomized_report(model, variables: Any, images: np.ndarray, labels: np.ndarray,
                      attacks: Mapping[str, Any], *, key: jax.Array, repeats: int = 10,
                      batch_size: int = 500) -> dict[str, Any]:
  """Clean and attacked accuracy of a randomized model on a split, over `repeats` draws.

  Args:
    model, variables: a Flax model drawing from the "noise" stream
      (`jaxrobust.models.randomized`) and its variables.
    images, labels: uint8 [n, h, w, c] and int [n].
    attacks: name -> attack (None: clean). Each batch is attacked once
      (`attack_points`), then predicted `repeats` times with fresh draws.
    key: PRNG key; batch i uses fold_in(key, i), as `eval.Evaluator`.

  Returns:
    {name: accuracy_spread(...)} with "clean" first, plus "num_examples" and
    "eval_time_s".
  """
  _check_split(images, labels)
  _checks.check_int_at_least("repeats", repeats, 1)
  _checks.check_int_at_least("batch_size", batch_size, 1)
  apply = _apply_fn(model)

  def step(attack, variables, x, y, key):
    logits_fn = lambda z, k: apply(variables, z, k)
    x = to_float(x)
    x_adv = attack_points(attack, logits_fn, x, y, key=jax.random.fold_in(key, _ATTACK))
    return repeated_correct(logits_fn, x_adv, y, key=jax.random.fold_in(key, _PREDICT),
                            repeats=repeats)

  tic = time.perf_counter()
  named = {"clean": None, **attacks}
  out = {}
  for name, attack in named.items():
    compiled = jax.jit(lambda v, x, y, k, attack=attack: step(attack, v, x, y, k))
    parts = [np.asarray(compiled(variables, x, y, jax.random.fold_in(key, i)))[:, :n]
             for i, (x, y, n) in enumerate(_padded_batches(images, labels, batch_size))]
    out[name] = accuracy_spread(np.concatenate(parts, axis=1))
  out["num_examples"] = int(len(labels))
  out["eval_time_s"] = time.perf_counter() - tic
  return out


def _check_one_network_attack(attack) -> None:
  if attack is None or not callable(attack):
    raise TypeError(f"transferability needs an attack object (e.g. attacks.PGD(...)), "
                    f"got {attack!r}.")
  if takes_key(attack):
    raise ValueError(f"transferability among sample networks attacks one network at a "
                     f"time: pass an attack on logits_fn(x) (e.g. PGD), not "
                     f"{type(attack).__name__} on the randomized model.")


def transfer_outcomes(logits_fn: RandomizedLogitsFn, x: jax.Array, y: jax.Array, attack, *,
                      network_keys: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array]:
  """(fooled [M, M, batch], correct [M, batch]) for M sample networks (keys network_keys [M]).

  fooled[i, j]: network j classifies the example correctly at x and wrongly
  at attack(x) made on network i; correct[j]: network j classifies it
  correctly at x. The attack runs on each network i (vmap over i) with its own
  key from `key`; it must attack one network (`takes_key(attack)` is False).
  """
  _check_one_network_attack(attack)
  m = network_keys.shape[0]
  attack_keys = jax.random.split(key, m)

  def craft(network_key, attack_key):
    return attack(lambda z: logits_fn(z, network_key), x, y, key=attack_key)

  x_adv = jax.vmap(craft)(network_keys, attack_keys)                          # [M, b, ...]
  clean = jax.vmap(lambda k: logits_fn(x, k).argmax(-1) == y)(network_keys)  # [M, b]
  wrong = jax.vmap(lambda xa: jax.vmap(lambda k: logits_fn(xa, k).argmax(-1) != y)(
      network_keys))(x_adv)                                                    # [M(i), M(j), b]
  return wrong & clean[None], clean


def transfer_matrix(model, variables: Any, images: np.ndarray, labels: np.ndarray, attack, *,
                    key: jax.Array, networks: int = 5, batch_size: int = 500
                    ) -> dict[str, Any]:
  """Fooling rates among `networks` sample networks of a randomized model, over a split.

  Sample network i is logits_fn(., k_i), k_i from fold_in(key, 1) split
  `networks` ways (fixed for the whole split). rate[i][j] = fraction of the
  examples network j classifies correctly that adversarial examples made on
  network i fool (the diagonal: white-box success on the same network).

  Returns {"rate": [M][M], "diagonal": mean of the diagonal, "off_diagonal":
  mean of the rest, "networks": M, "num_examples": n}.
  """
  _check_split(images, labels)
  _checks.check_int_at_least("networks", networks, 2)
  _checks.check_int_at_least("batch_size", batch_size, 1)
  _check_one_network_attack(attack)  # before compiling anything
  apply = _apply_fn(model)
  network_keys = jax.random.split(jax.random.fold_in(key, _NETWORK), networks)

  @jax.jit
  def counts(variables, x, y, n, k):
    logits_fn = lambda z, kk: apply(variables, z, kk)
    fooled, clean = transfer_outcomes(logits_fn, to_float(x), y, attack,
                                      network_keys=network_keys, key=k)
    valid = jnp.arange(x.shape[0]) < n  # padded rows count for nothing
    return jnp.sum(fooled & valid, axis=-1), jnp.sum(clean & valid, axis=-1)

  fooled = np.zeros((networks, networks))
  correct = np.zeros((networks,))
  attack_key = jax.random.fold_in(key, _ATTACK)
  for i, (x, y, n) in enumerate(_padded_batches(images, labels, batch_size)):
    f, c = counts(variables, x, y, n, jax.random.fold_in(attack_key, i))
    fooled += np.asarray(f)
    correct += np.asarray(c)
  rate = fooled / np.maximum(correct, 1)[None, :]
  off = ~np.eye(networks, dtype=bool)
  return {"rate": rate.tolist(), "diagonal": float(np.diag(rate).mean()),
          "off_diagonal": float(rate[off].mean()), "networks": networks,
          "num_examples": int(len(labels))}


def gradient_concentration_report(model, variables: Any, images: np.ndarray,
                                  labels: np.ndarray, *, key: jax.Array, samples: int = 8,
                                  batch_size: int = 500) -> dict[str, Any]:
  """The concentration of `samples` sampled input gradients of CE at each test point.

  Per measure of `defenses.graddiv.PENALTIES` (evaluation mode): mean, median,
  10th and 90th percentile over the split, and the uniform reference
  ("uniform_mean_resultant_length": 1 / sqrt(samples), R's scale for
  independent uniform directions in high dimension).
  """
  _check_split(images, labels)
  _checks.check_int_at_least("samples", samples, 2)
  apply = _apply_fn(model)

  @jax.jit
  def stats(variables, x, y, k):
    logits_fn = lambda z, kk: apply(variables, z, kk)
    return graddiv.gradient_concentration(logits_fn, to_float(x), y, key=k, samples=samples)

  parts = {name: [] for name in graddiv.PENALTIES}
  for i, (x, y, n) in enumerate(_padded_batches(images, labels, batch_size)):
    for name, v in stats(variables, x, y, jax.random.fold_in(key, i)).items():
      parts[name].append(np.asarray(v)[:n])
  out = {}
  for name, values in parts.items():
    v = np.concatenate(values)
    out[name] = {"mean": float(v.mean()), "median": float(np.median(v)),
                 "p10": float(np.percentile(v, 10)), "p90": float(np.percentile(v, 90))}
  out["samples"] = samples
  out["uniform_mean_resultant_length"] = float(1 / np.sqrt(samples))
  return out
