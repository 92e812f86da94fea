"""The sharpness measure on a small softmax network trained with PGD adversarial training.

The linear theory predicts a sharper weight loss landscape for larger eps; as
Yamada et al. do with ResNet-18, this checks the same trend on a network: a
one-hidden-layer MLP (pure JAX, parameters a dict), trained full batch with
Adam on PGD examples for a fixed budget, then the top eigenvalue (Lanczos and
power iteration on Hessian-vector products) and Hutchinson trace of the
Hessian of the mean cross-entropy on adversarial examples made at the final
weights and then held fixed (by Danskin's theorem the gradient of the max
treats the attack as constant; the Hessian of the max is not defined, so this
is the curvature at the attack, as in the paper's measurement).

References: Yamada, Kanai, Iwata et al., "Adversarial Training Makes Weight
Loss Landscape Sharper in Logistic Regression", arXiv:2102.02950 (2021), Sec. 5;
Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks",
ICLR 2018 (PGD-AT).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxrobust import _checks
from jaxrobust.attacks.pgd import PGD, madry_pgd
from jaxrobust.theory import hessian as hessian_lib


def init_mlp(key: jax.Array, in_dim: int, hidden: int, classes: int) -> dict:
  """Scaled-normal weights of x [n, in_dim] -> tanh hidden -> logits [n, classes]."""
  for name, value in (("in_dim", in_dim), ("hidden", hidden), ("classes", classes)):
    _checks.check_int_at_least(name, value, 1)
  k1, k2 = jax.random.split(key)
  return {
      "w1": jax.random.normal(k1, (in_dim, hidden)) * jnp.sqrt(2.0 / in_dim),
      "b1": jnp.zeros((hidden,)),
      "w2": jax.random.normal(k2, (hidden, classes)) * jnp.sqrt(1.0 / hidden),
      "b2": jnp.zeros((classes,)),
  }


def mlp_logits(params: dict, x: jax.Array) -> jax.Array:
  """Logits [n, classes] for inputs x [n, ...] (flattened); smooth (tanh) so the Hessian exists."""
  h = jnp.tanh(x.reshape(x.shape[0], -1) @ params["w1"] + params["b1"])
  return h @ params["w2"] + params["b2"]


def mean_cross_entropy(params: dict, x: jax.Array, labels: jax.Array) -> jax.Array:
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(
      mlp_logits(params, x), labels))


def make_attack(eps, norm: str = "l2", steps: int = 10) -> PGD:
  """PGD with step 2.5 eps / steps (Madry et al.), no random start (deterministic)."""
  return madry_pgd(eps=eps, steps=steps, norm=norm, random_start=False)


class TrainedNet(NamedTuple):
  """Final params, PGD examples at them [n, ...], their mean loss, clean and PGD accuracy."""
  params: dict
  x_adv: jax.Array
  adv_loss: jax.Array
  clean_accuracy: jax.Array
  adv_accuracy: jax.Array


def train_pgd_at(key: jax.Array, x: jax.Array, labels: jax.Array, eps, *,
                 classes: int, hidden: int = 32, norm: str = "l2",
                 attack_steps: int = 10, train_steps: int = 300,
                 learning_rate: float = 1e-2, weight_decay: float = 1e-4) -> TrainedNet:
  """Full-batch PGD-AT of the MLP for a fixed budget; x [n, ...] in [0, 1], labels [n].

  With eps = 0 the attack is the identity, so this is standard training.
  """
  _checks.check_same_length(x=x, labels=labels)
  _checks.check_int_at_least("classes", classes, 2)
  _checks.check_labels("labels", labels, classes, x.shape[0])
  _checks.check_int_at_least("train_steps", train_steps, 1)
  _checks.check_number("learning_rate", learning_rate, low=0, low_open=True)
  _checks.check_number("weight_decay", weight_decay, low=0)
  params = init_mlp(key, x[0].size, hidden, classes)
  opt = optax.adamw(learning_rate, weight_decay=weight_decay)
  attack = make_attack(eps, norm, attack_steps)

  def step(_, carry):
    params, state = carry
    x_adv = attack(lambda z: mlp_logits(params, z), x, labels)
    grads = jax.grad(mean_cross_entropy)(params, x_adv, labels)
    updates, state = opt.update(grads, state, params)
    return optax.apply_updates(params, updates), state

  params, _ = jax.lax.fori_loop(0, train_steps, step, (params, opt.init(params)))
  x_adv = attack(lambda z: mlp_logits(params, z), x, labels)
  accuracy = lambda z: jnp.mean(jnp.argmax(mlp_logits(params, z), -1) == labels)
  return TrainedNet(params, x_adv, mean_cross_entropy(params, x_adv, labels),
                    accuracy(x), accuracy(x_adv))


class NetSharpness(NamedTuple):
  """Top Hessian eigenvalue (Lanczos, power iteration) and Hutchinson trace."""
  top_lanczos: jax.Array
  top_power: jax.Array
  trace_hutchinson: jax.Array


def net_sharpness(params: dict, x_adv: jax.Array, labels: jax.Array, *,
                  key: jax.Array, lanczos_iters: int = 30, power_iters: int = 100,
                  trace_samples: int = 50) -> NetSharpness:
  """Hessian summaries of the mean cross-entropy at fixed x_adv, in all parameters."""
  _checks.check_same_length(x_adv=x_adv, labels=labels)
  hvp, dim = hessian_lib.make_hvp(lambda p: mean_cross_entropy(p, x_adv, labels), params)
  k1, k2, k3 = jax.random.split(key, 3)
  return NetSharpness(
      hessian_lib.lanczos(hvp, dim, key=k1, num_iters=lanczos_iters).top,
      hessian_lib.power_iteration(hvp, dim, key=k2, num_iters=power_iters)[0],
      hessian_lib.hutchinson_trace(hvp, dim, key=k3, num_samples=trace_samples)[0])
