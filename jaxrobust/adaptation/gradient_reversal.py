"""The gradient reversal layer and DANN's adaptation-weight schedule.

References: Ganin & Lempitsky, "Unsupervised Domain Adaptation by
Backpropagation", ICML 2015; Ganin et al., "Domain-Adversarial Training of
Neural Networks", JMLR 17 (2016), Sec. 3.2 (the layer R_lambda) and Sec. 5.2.2
(lambda_p = 2 / (1 + exp(-gamma p)) - 1 with gamma = 10).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrobust import _checks


def reverse_gradient(x: jax.Array, coeff: jax.Array) -> jax.Array:
  """Identity forward; the backward pass multiplies the incoming gradient by -coeff.

  x: any array (features [batch, dim]); coeff: scalar lambda >= 0 (data, so a
  schedule can trace it). One minimisation of `task loss + domain loss(R(f))`
  then trains the discriminator to tell the domains apart while the feature
  extractor, seeing the reversed gradient, learns to confuse it.
  """
  # A negative coeff would turn the reversal into plain joint minimisation.
  _checks.check_number("coeff", coeff, low=0)
  return _reverse(x, coeff)


@jax.custom_vjp
def _reverse(x, coeff):
  del coeff
  return x


def _forward(x, coeff):
  return x, coeff


def _backward(coeff, g):
  # The schedule value is a constant of the objective: it gets no gradient.
  return (-coeff * g).astype(g.dtype), jnp.zeros_like(coeff)


_reverse.defvjp(_forward, _backward)


def dann_coefficient(progress: jax.Array, gamma: float = 10.0) -> jax.Array:
  """lambda_p = 2 / (1 + exp(-gamma p)) - 1 for training progress p in [0, 1].

  Rises from 0 (the discriminator's early, noisy signal does not disturb the
  features) to about 1 (Ganin et al. 2016, Sec. 5.2.2).
  """
  _checks.check_number("progress", progress, low=0, high=1)
  _checks.check_number("gamma", gamma, low=0)
  return 2.0 / (1.0 + jnp.exp(-gamma * progress)) - 1.0
