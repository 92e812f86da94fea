"""Sharpness-aware minimization (SAM) and its adaptive variant (ASAM) as optax transforms.

SAM minimises max_{||e|| <= rho} L(w + e). To first order the maximiser is
e = rho g / ||g|| (g = grad L(w)); the update feeds the gradient at w + e to a
base optimizer. ASAM measures the neighbourhood in the parameter-scaled norm
||T_w^{-1} e|| with T_w = |w| + eta (elementwise), giving
e = rho T_w^2 g / ||T_w g||.

The second gradient comes from a `grad_fn(params) -> grads` extra argument of
`update`, as in the opaque mode of `optax.contrib.sam`; `make_train_step`
passes one that recomputes the same batch loss with the same key. BatchNorm
statistics (and any other mutable model state) come from the unperturbed
pass: the perturbed pass only contributes its gradient.

References: Foret et al., "Sharpness-Aware Minimization for Efficiently
Improving Generalization", ICLR 2021 (arXiv:2010.01412); Kwon et al., "ASAM:
Adaptive Sharpness-Aware Minimization for Scale-Invariant Learning of Deep
Neural Networks", ICML 2021 (arXiv:2102.11600).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import optax

from jaxrobust import _checks

# Added to the norm so that a zero gradient gives a zero perturbation, not NaN
# (the 1e-12 of Foret et al.'s and Kwon et al.'s reference code).
_EPS = 1e-12

GradFn = Callable[..., optax.Updates]


def check_rho(rho: Any) -> None:
  """Raises ValueError unless rho is a scalar, finite and >= 0 when concrete."""
  if jnp.ndim(rho) != 0:
    raise ValueError(f"rho must be a scalar, got shape {jnp.shape(rho)}.")
  _checks.check_number("rho", rho, low=0)


def check_eta(eta: Any) -> None:
  """ASAM's eta: None (SAM) or finite and >= 0 when concrete."""
  if eta is not None:
    _checks.check_number("eta", eta, low=0)


def _is_zero(rho: Any) -> bool:
  """True only for a concrete 0, where SAM is the base optimizer exactly."""
  return isinstance(rho, (int, float)) and rho == 0


def perturbation(grads: optax.Updates, params: optax.Params, rho: Any, *,
                 normalize: bool = True, eta: Optional[float] = None,
                 eps: float = _EPS) -> optax.Updates:
  """The ascent step e added to params before the second gradient.

  Args:
    grads: gradient g at params (same tree).
    params: the current parameters w; only read when eta is given.
    rho: neighbourhood radius (>= 0).
    normalize: False gives e = rho g (or rho T^2 g), the unnormalized SAM that
      Kim et al. (2023) and Andriushchenko & Flammarion (2022) analyse.
    eta: None for SAM; a float for ASAM's T_w = |w| + eta.
    eps: added to the norm so that g = 0 gives e = 0.

  Returns:
    e, a tree like params: rho g / ||g|| (SAM) or rho T^2 g / ||T g|| (ASAM).
  """
  check_rho(rho)
  check_eta(eta)
  if eta is None:
    direction, scaled = grads, grads
  else:
    scale = jax.tree.map(lambda w: jnp.abs(w) + eta, params)
    scaled = jax.tree.map(jnp.multiply, scale, grads)            # T g
    direction = jax.tree.map(jnp.multiply, scale, scaled)        # T^2 g
  if not normalize:
    return jax.tree.map(lambda d: rho * d, direction)
  factor = rho / (optax.tree.norm(scaled) + eps)
  return jax.tree.map(lambda d: (factor * d).astype(d.dtype), direction)


def sam_gradient(loss_fn: Callable[..., jax.Array], params: optax.Params, batch: Any,
                 rho: Any, *, normalize: bool = True, eta: Optional[float] = None,
                 ) -> optax.Updates:
  """Gradient of loss_fn(., batch) at the SAM point w + e (pure, jit-able).

  Args:
    loss_fn: (params, batch) -> scalar loss.
    params: the parameters w.
    batch: whatever loss_fn takes as its second argument.
    rho: neighbourhood radius (>= 0).
    normalize: see `perturbation`.
    eta: None for SAM, a float for ASAM.

  Returns:
    grad L(w + e) with e from `perturbation` (a tree like params).

  References: Foret et al., ICLR 2021; Kwon et al., ICML 2021.
  """
  check_rho(rho)
  check_eta(eta)
  grad = jax.grad(loss_fn)
  g = grad(params, batch)
  e = perturbation(g, params, rho, normalize=normalize, eta=eta)
  return grad(optax.apply_updates(params, e), batch)


class SAMState(NamedTuple):
  """State of `sam` and `asam`: the base optimizer's state."""
  inner_state: optax.OptState


def _sharpness_aware(base: optax.GradientTransformation, rho: Any, *, normalize: bool,
                     eta: Optional[float]) -> optax.GradientTransformationExtraArgs:
  check_rho(rho)
  base = optax.with_extra_args_support(base)

  def init_fn(params):
    return SAMState(inner_state=base.init(params))

  def update_fn(updates, state, params=None, *, grad_fn: Optional[GradFn] = None,
                **extra_args):
    if _is_zero(rho):  # the base optimizer exactly, with no second gradient
      inner_updates, inner_state = base.update(updates, state.inner_state, params,
                                               **extra_args)
      return inner_updates, SAMState(inner_state)
    if params is None:
      raise ValueError("sam/asam need params in update(updates, state, params).")
    if grad_fn is None:
      raise ValueError("sam/asam need grad_fn=, a function params -> gradient of the "
                       "same batch loss (make_train_step passes one).")
    e = perturbation(updates, params, rho, normalize=normalize, eta=eta)
    sharp_grads = grad_fn(optax.apply_updates(params, e))
    inner_updates, inner_state = base.update(sharp_grads, state.inner_state, params,
                                             **extra_args)
    return inner_updates, SAMState(inner_state)

  return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def sam(base: optax.GradientTransformation, rho: Any = 0.05, *,
        normalize: bool = True) -> optax.GradientTransformationExtraArgs:
  """SAM around a base optimizer: base.update(grad L(w + rho g/||g||)).

  `update(grads, state, params, grad_fn=f)` calls f(params') once, where f
  returns the gradient of the same batch loss at params'. rho = 0 (a Python
  number) is the base optimizer exactly and never calls grad_fn.

  Args:
    base: the outer optimizer (e.g. optax.sgd, optax.adam).
    rho: neighbourhood radius, >= 0 (0.05 in Foret et al. for CIFAR).
    normalize: False for the unnormalized ascent step e = rho g.

  Returns:
    An optax.GradientTransformationExtraArgs with state SAMState.

  References: Foret et al., "Sharpness-Aware Minimization for Efficiently
  Improving Generalization", ICLR 2021.
  """
  return _sharpness_aware(base, rho, normalize=normalize, eta=None)


def asam(base: optax.GradientTransformation, rho: Any = 0.5, eta: float = 0.01, *,
         normalize: bool = True) -> optax.GradientTransformationExtraArgs:
  """Adaptive SAM: e = rho T^2 g / ||T g|| with T = |w| + eta (elementwise).

  Defaults rho = 0.5, eta = 0.01 are Kwon et al.'s CIFAR settings. Every
  parameter (biases and normalisation scales included) is scaled, as in
  their reference implementation.

  References: Kwon et al., "ASAM: Adaptive Sharpness-Aware Minimization for
  Scale-Invariant Learning of Deep Neural Networks", ICML 2021.
  """
  check_eta(eta)
  return _sharpness_aware(base, rho, normalize=normalize, eta=eta)
