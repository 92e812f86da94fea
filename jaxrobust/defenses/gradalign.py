"""GradAlign: fast AT plus a penalty on misaligned input gradients.

References:
  Andriushchenko & Flammarion, "Understanding and Improving Fast Adversarial
  Training", NeurIPS 2020.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxrobust import _checks, attacks
from jaxrobust.defenses._base import accuracy
from jaxrobust.defenses.fast_at import fgsm_point
from jaxrobust.losses import cross_entropy


def gradient_misalignment(logits_fn, x, y, key, eps):
  """1 - cos(grad_x CE(f(x), y), grad_x CE(f(x + eta), y)), eta ~ U(Linf ball), [batch].

  Differentiable w.r.t. the parameters inside logits_fn (double backprop).
  """
  grad = lambda z: jax.grad(lambda u: jnp.sum(cross_entropy(logits_fn(u), y)))(z)
  g1 = grad(x).reshape(x.shape[0], -1)
  g2 = grad(attacks.random_start(key, x, eps, "linf")).reshape(x.shape[0], -1)
  # The small constant keeps the cosine defined where a gradient vanishes.
  norms = jnp.linalg.norm(g1, axis=-1) * jnp.linalg.norm(g2, axis=-1) + 1e-12
  return 1.0 - jnp.sum(g1 * g2, axis=-1) / norms


@struct.dataclass
class GradAlign:
  """loss = CE(f(x_adv), y) + lam * (1 - cos(grad_x l(x), grad_x l(x + eta))).

  x_adv is the single step of `FastAT` (step_ratio * eps, optional random
  start). The paper pairs GradAlign with plain FGSM (step_ratio=1,
  random_start=False); both are options. The gradients in the penalty are taken
  through the train-mode model (second-order through the weights). Like
  FastAT, it keeps its step's fields: eps is also the radius of the penalty's eta.

  Attributes:
    eps: Linf radius.
    lam: weight of the alignment penalty (paper: 0.2 at eps 8/255 on CIFAR-10).
    step_ratio: FGSM step / eps.
    random_start: static.
  """
  eps: float = 0.3
  lam: float = 0.2
  step_ratio: float = 1.0
  random_start: bool = struct.field(pytree_node=False, default=False)

  def __post_init__(self):
    _checks.check_number("eps", self.eps, low=0)
    _checks.check_number("lam", self.lam, low=0)
    _checks.check_number("step_ratio", self.step_ratio, low=0)

  def __call__(self, train_logits_fn, eval_logits_fn, x, y, *, key):
    start_key, eta_key = jax.random.split(key)
    x_adv = jax.lax.stop_gradient(fgsm_point(eval_logits_fn, x, y, self.eps,
                                             self.step_ratio, self.random_start,
                                             start_key))
    penalty = gradient_misalignment(train_logits_fn, x, y, eta_key, self.eps)
    # Called last at the top level: its BatchNorm statistics are the ones kept
    # (those recorded under the input gradients above are discarded).
    logits = train_logits_fn(x_adv)
    return cross_entropy(logits, y) + self.lam * penalty, {
        "accuracy": accuracy(logits, y), "grad_misalignment": penalty}
