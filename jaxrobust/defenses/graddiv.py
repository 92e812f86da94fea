"""GradDiv: penalize the concentration of a randomized network's loss gradients.

For each input x, S networks are drawn (S keys, one vmap) and their input
gradients g_k = d CE(f_k(x), y) / dx taken; their unit directions
u_k = g_k / ||g_k|| are points on the sphere S^{d-1}. An EOT attacker steps
along the mean of the g_k: when the u_k are scattered, that mean is short and
points nowhere in particular. GradDiv adds a measure of how concentrated the
u_k are to the training loss.

Concentration measures (per example, d = input dimension, S >= 2 draws):
  mean_resultant_length   R = ||(1/S) sum_k u_k||, in [0, 1]: 1 for identical
      directions, ~1/sqrt(S) for independent uniform ones (E[R^2] = 1/S).
      The directional-statistics summary of concentration (Mardia & Jupp,
      "Directional Statistics", 2000).
  vmf_kappa               kappa = R (d - R^2) / (1 - R^2): the approximate
      maximum-likelihood concentration of a von Mises-Fisher distribution
      fitted to the u_k (Banerjee, Dhillon, Ghosh & Sra, "Clustering on the
      Unit Hypersphere using von Mises-Fisher Distributions", JMLR 2005,
      their closed-form approximation). Unbounded as R -> 1 (R is capped at
      1 - 1e-6 here); biased upwards for small S (uniform directions give
      R ~ 1/sqrt(S), kappa ~ d/sqrt(S)).
  mean_cosine             (1 / (S (S - 1))) sum_{i != j} u_i . u_j, in
      [-1/(S-1), 1]: the mean pairwise cosine similarity; 1 for identical
      directions, 0 in expectation for independent uniform ones (unbiased).
      Equal to (S R^2 - 1) / (S - 1).

Reference: Lee, Kim & Lee, "GradDiv: Adversarial Robustness of Randomized
Neural Networks via Gradient Diversity Regularization", IEEE TPAMI 2022
(arXiv:2107.02425). Only the paper's abstract and introduction could be read
from this project's machine: they say the regularizers "minimize the
concentration of the gradients" of the randomized network and that proxy
(EOT) gradients are less effective when the gradients are more scattered.
The three measures above are the concentration statistics that definition
admits, each from the source named with it; they are not the paper's equations,
and their weights are not the paper's values.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust import _checks
from jaxrobust.attacks.pgd import PGD
from jaxrobust.defenses._base import AdversarialDefense, accuracy
from jaxrobust.losses import cross_entropy

RandomizedLogitsFn = Callable[[jax.Array, jax.Array], jax.Array]

_TINY = 1e-30       # keeps ||g|| differentiable where a gradient vanishes (float32-safe)
_R_CAP = 1.0 - 1e-6  # kappa's R below 1, where it is finite


def unit_directions(grads: jax.Array) -> jax.Array:
  """g / ||g|| over every axis after the first two: [S, batch, ...] -> [S, batch, d].

  A zero gradient gives the zero vector (no direction, without NaN gradients):
  it adds nothing to the resultant, so it lowers R as a scattered draw would.
  """
  g = grads.reshape(grads.shape[0], grads.shape[1], -1)
  return g / jnp.sqrt(jnp.sum(g * g, axis=-1, keepdims=True) + _TINY)


def _check_directions(u: jax.Array) -> None:
  if u.ndim != 3:
    raise ValueError(f"directions must be [samples, batch, d] (from unit_directions), "
                     f"got shape {tuple(u.shape)}.")
  if u.shape[0] < 2:
    raise ValueError(f"a concentration needs at least 2 sampled directions per input, "
                     f"got {u.shape[0]}.")


def mean_resultant_length(u: jax.Array) -> jax.Array:
  """R = ||mean_k u_k||, [batch], from unit directions u [S, batch, d]."""
  _check_directions(u)
  m = jnp.mean(u, axis=0)
  # sqrt(.. + tiny): R is differentiable where the mean is 0.
  return jnp.sqrt(jnp.sum(m * m, axis=-1) + _TINY)


def vmf_kappa(u: jax.Array) -> jax.Array:
  """Banerjee et al.'s (2005) vMF concentration R (d - R^2) / (1 - R^2), [batch].

  R is capped at 1 - 1e-6 (identical directions give a large finite kappa,
  ~ d / 2e-6, with zero gradient).
  """
  d = u.shape[-1]
  r = jnp.minimum(mean_resultant_length(u), _R_CAP)
  return r * (d - r * r) / (1.0 - r * r)


def mean_cosine(u: jax.Array) -> jax.Array:
  """Mean pairwise cosine similarity over the S (S - 1) ordered pairs i != j, [batch]."""
  _check_directions(u)
  s = u.shape[0]
  gram = jnp.einsum("ibd,jbd->bij", u, u)
  off_diagonal = jnp.sum(gram, axis=(1, 2)) - jnp.trace(gram, axis1=1, axis2=2)
  return off_diagonal / (s * (s - 1))


PENALTIES = {
    "mean_resultant_length": mean_resultant_length,
    "vmf_kappa": vmf_kappa,
    "mean_cosine": mean_cosine,
}


def concentration(u: jax.Array) -> dict[str, jax.Array]:
  """Every measure of `PENALTIES` from unit directions u [S, batch, d], each [batch]."""
  return {name: fn(u) for name, fn in PENALTIES.items()}


def sampled_input_gradients(logits_fn: RandomizedLogitsFn, x: jax.Array, y: jax.Array,
                            keys: jax.Array, loss_fn=cross_entropy) -> jax.Array:
  """d loss(logits_fn(x, k), y) / dx for each key k: [S, batch, ...], one vmap over keys.

  Per-example gradients (examples do not interact in evaluation mode; in
  train mode with BatchNorm, the batch statistics couple them as in
  GradAlign). Differentiable w.r.t. the parameters inside logits_fn.
  """
  def one(k):
    return jax.grad(lambda z: jnp.sum(loss_fn(logits_fn(z, k), y)))(x)
  return jax.vmap(one)(keys)


def gradient_concentration(logits_fn: RandomizedLogitsFn, x: jax.Array, y: jax.Array, *,
                           key: jax.Array, samples: int) -> dict[str, jax.Array]:
  """The concentration measures of `samples` sampled input gradients, each [batch]."""
  _checks.check_int_at_least("samples", samples, 2)
  grads = sampled_input_gradients(logits_fn, x, y, jax.random.split(key, samples))
  return concentration(unit_directions(grads))


@struct.dataclass
class GradDiv(AdversarialDefense):
  """loss = CE(f(x'), y) + weight * concentration(u_1..u_S at x'), x' = attack(x) (x if None).

  u_k are the unit input gradients of CE under `samples` networks drawn by
  the train-mode model (`train_logits_fn(z, key)`: one vmap over S keys, then
  differentiated through, second order in the weights); f(x') is the network
  of the step's own noise key, called at the top level (BatchNorm statistics).
  The attack (PGD-AT's, on the eval-mode model with the step's fixed noise
  key; an `attacks.EOTPGD` gets keys of its own) is optional: attack=None
  trains on clean inputs, GradDiv alone.

  On a deterministic model every u_k is the same: R = 1, and the penalty is a
  constant with zero gradient (GradDiv needs a randomized model).

  Attributes:
    attack: the inner attack; default PGD(eps=0.3, step_size=0.01, steps=10);
      None: clean inputs.
    weight: weight of the concentration penalty (pytree leaf).
    penalty: "mean_resultant_length", "vmf_kappa" or "mean_cosine" (static).
    samples: S, networks drawn per input (static, >= 2).
  """
  attack: Any = struct.field(default_factory=PGD)
  weight: float = 1.0
  penalty: str = struct.field(pytree_node=False, default="mean_resultant_length")
  samples: int = struct.field(pytree_node=False, default=4)

  NONNEGATIVE = ("weight",)
  CLEAN_WITHOUT_ATTACK = True

  def __post_init__(self):
    _checks.check_choice("GradDiv.penalty", self.penalty, tuple(PENALTIES))
    _checks.check_int_at_least("GradDiv.samples", self.samples, 2)
    super().__post_init__()

  def __call__(self, train_logits_fn, eval_logits_fn, x, y, *, key):
    attack_key, sample_key = jax.random.split(key)
    x_train = self.adversarial_inputs(eval_logits_fn, x, y, key=attack_key)
    grads = sampled_input_gradients(train_logits_fn, x_train, y,
                                    jax.random.split(sample_key, self.samples))
    stats = concentration(unit_directions(grads))
    penalty = stats[self.penalty]
    # Called last at the top level: its BatchNorm statistics are the ones kept.
    logits = train_logits_fn(x_train)
    return cross_entropy(logits, y) + self.weight * penalty, {
        "accuracy": accuracy(logits, y), "graddiv_penalty": penalty,
        "resultant_length": stats["mean_resultant_length"],
        "mean_cosine": stats["mean_cosine"]}

  def loss_at(self, train_logits_fn, x, x_adv, y):
    raise TypeError("GradDiv draws its networks from a key per step, which loss_at does "
                    "not receive: it cannot be AWP's base.")
