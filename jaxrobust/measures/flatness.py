"""Flatness-based measures: PAC-Bayes sigma (and its magnitude-aware variant) by
bisection, their bounds, worst-case sharpness in a ball of weights, average flatness
under Gaussian weight noise, and the Hessian's top eigenvalue and trace.

The loss-based measures take the mean cross-entropy on clean or adversarial inputs
(`on`; the adversarial inputs stay fixed while the weights move, as in Kim et al.).

References: Jiang et al., "Fantastic Generalization Measures and Where to Find
Them", ICLR 2020 (PAC-Bayes sigma and bounds, magnitude-aware perturbations,
sharpness); Keskar et al., ICLR 2017 (worst-case sharpness); Kim et al., NeurIPS
2023; Yao et al., "PyHessian", 2020 (Hessian spectrum by HVPs).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from jaxrobust import _checks
from jaxrobust.losses import cross_entropy
from jaxrobust.measures import _params
from jaxrobust.measures.inputs import ON, MeasureInputs
from jaxrobust.theory import hutchinson_trace, lanczos, make_hvp

_SIGMA, _FLAT, _LANCZOS, _TRACE = range(4)


def _mean_loss(inputs: MeasureInputs, on: str):
  x = inputs.inputs(on)
  return lambda params: jnp.mean(cross_entropy(inputs.apply_fn(params, x), inputs.y))


def _accuracy(inputs: MeasureInputs, params, x) -> jax.Array:
  return jnp.mean(jnp.argmax(inputs.apply_fn(params, x), axis=-1) == inputs.y)


def _check_search(steps, samples, target_drop, tolerance, upper, magnitude_eps, on) -> None:
  """The options of the sigma search (`pacbayes_sigma`, the pacbayes families)."""
  for name, value in (("steps", steps), ("samples", samples)):
    _checks.check_int_at_least(name, value, 1)
  _checks.check_real("target_drop", target_drop, low=0, low_open=True, high=1)
  _checks.check_real("tolerance", tolerance, low=0)
  _checks.check_real("upper", upper, low=0, low_open=True)
  if magnitude_eps is not None:
    _checks.check_real("magnitude_eps", magnitude_eps, low=0, low_open=True)
  _checks.check_choice("on", on, ON)


def pacbayes_sigma(inputs: MeasureInputs, *, magnitude_eps: float | None = None,
                   steps: int = 15, samples: int = 10, target_drop: float = 0.1,
                   tolerance: float = 1e-2, upper: float = 2.0, on: str = "clean"
                   ) -> jax.Array:
  """The noise scale sigma at which accuracy drops by `target_drop`, by bisection.

  Bisection on [0, upper], `steps` halvings: at each midpoint sigma, the mean accuracy
  over `samples` draws of w + noise; |drop - target_drop| < tolerance stops the
  search there (the bracket freezes), else drop > target_drop lowers the top, and
  otherwise raises the bottom. Noise is N(0, sigma^2) on every parameter, or with
  magnitude_eps, N(0, sigma^2 w^2 + magnitude_eps^2) (magnitude-aware). The draws are
  common random numbers (the same standard normals z at every sigma, scaled), so the
  estimated drop is monotone in sigma along the search. Follows Jiang et al.'s
  search as the lab's prototype writes it, except the prototype passes sigma^2 as
  torch.normal's standard deviation; here the standard deviation is sigma.
  """
  _check_search(steps, samples, target_drop, tolerance, upper, magnitude_eps, on)
  flat, unravel = ravel_pytree(inputs.params)
  x = inputs.inputs(on)
  base = _accuracy(inputs, inputs.params, x)
  key = jax.random.fold_in(inputs.key, _SIGMA)
  z = jax.random.normal(key, (samples,) + flat.shape, flat.dtype)

  def drop(sigma):
    scale = sigma if magnitude_eps is None else jnp.sqrt(
        sigma ** 2 * flat ** 2 + magnitude_eps ** 2)
    acc = jax.lax.map(lambda zi: _accuracy(inputs, unravel(flat + scale * zi), x), z)
    return jnp.abs(jnp.mean(acc) - base)

  def step(_, carry):
    lo, hi, sigma, done = carry
    mid = (lo + hi) / 2
    d = drop(mid)
    hit = jnp.abs(d - target_drop) < tolerance
    new_lo = jnp.where(d > target_drop, lo, mid)
    new_hi = jnp.where(d > target_drop, mid, hi)
    keep = done
    return (jnp.where(keep | hit, lo, new_lo), jnp.where(keep | hit, hi, new_hi),
            jnp.where(keep, sigma, mid), done | hit)

  init = (jnp.zeros((), flat.dtype), jnp.asarray(upper, flat.dtype),
          jnp.asarray(upper / 2, flat.dtype), jnp.zeros((), bool))
  return jax.lax.fori_loop(0, steps, step, init)[2]


def pacbayes(magnitude: bool = False, steps: int = 15, samples: int = 10,
             target_drop: float = 0.1, tolerance: float = 1e-2, upper: float = 2.0,
             magnitude_eps: float = 1e-3, on: str = "clean"):
  """Family "pacbayes" ("pacbayes_mag" with magnitude=True): with m the batch size,
  w the weight vector (biases excluded) and d = w - w0,
    {p}_sigma, {p}_flatness = 1 / sigma^2, and the bounds
    {p}_init = ||d||^2 / (4 sigma^2) + log(m / sigma) + 10 ({p}_orig with w for d);
  magnitude-aware (omega = #weights, e = magnitude_eps):
    {p}_init = 1/4 sum_i log((e^2 + (sigma^2 + 1) ||d||^2 / omega) / (e^2 + sigma^2 d_i^2))
               + log(m / sigma) + 10 ({p}_orig with ||w|| in the numerator),
  p = "pacbayes" or "pacbayes_mag" (Jiang et al. 2020, Appendix C.3 and C.4)."""
  _check_search(steps, samples, target_drop, tolerance, upper, magnitude_eps, on)
  prefix = "pacbayes_mag" if magnitude else "pacbayes"

  def family(inputs: MeasureInputs) -> dict[str, jax.Array]:
    sigma = pacbayes_sigma(inputs, magnitude_eps=magnitude_eps if magnitude else None,
                           steps=steps, samples=samples, target_drop=target_drop,
                           tolerance=tolerance, upper=upper, on=on)
    w = _params.weight_vector(inputs.params)
    d = w - _params.weight_vector(inputs.params_init)
    m = inputs.x.shape[0]
    tail = jnp.log(m / sigma) + 10.0
    if magnitude:
      e2, omega = magnitude_eps ** 2, float(w.size)
      def bound(ref):
        num = e2 + (sigma ** 2 + 1.0) * jnp.sum(ref * ref) / omega
        return 0.25 * jnp.sum(jnp.log(num / (e2 + sigma ** 2 * d * d))) + tail
    else:
      def bound(ref):
        return jnp.sum(ref * ref) / (4.0 * sigma ** 2) + tail
    return {f"{prefix}_sigma": sigma, f"{prefix}_flatness": 1.0 / sigma ** 2,
            f"{prefix}_init": bound(d), f"{prefix}_orig": bound(w)}

  return family


def sharpness(rho: float = 0.05, steps: int = 5, on: str = "adv"):
  """Family "sharpness": sharpness_{on} = max_{||v||_2 <= rho} L(w + v) - L(w), the max
  by `steps` normalized-gradient ascent steps of 2 rho / steps from v = 0, projected
  onto the ball (all parameters, one vector)."""
  _checks.check_real("rho", rho, low=0)
  _checks.check_int_at_least("steps", steps, 1)
  _checks.check_choice("on", on, ON)

  def family(inputs: MeasureInputs) -> dict[str, jax.Array]:
    flat, unravel = ravel_pytree(inputs.params)
    f = lambda v: _mean_loss(inputs, on)(unravel(flat + v))

    def step(_, v):
      g = jax.grad(f)(v)
      v = v + (2.0 * rho / steps) * g / jnp.maximum(jnp.linalg.norm(g), 1e-12)
      n = jnp.linalg.norm(v)
      return v * jnp.minimum(1.0, rho / jnp.maximum(n, 1e-12))

    v = jax.lax.fori_loop(0, steps, step, jnp.zeros_like(flat))
    return {f"sharpness_{on}": f(v) - f(jnp.zeros_like(flat))}

  return family


def average_flatness(sigma: float = 0.01, samples: int = 10, on: str = "adv"):
  """Family "average_flatness": flatness_{on} = E_z L(w + sigma z) - L(w), z ~ N(0, I)
  on every parameter, averaged over `samples` draws."""
  _checks.check_real("sigma", sigma, low=0)
  _checks.check_int_at_least("samples", samples, 1)
  _checks.check_choice("on", on, ON)

  def family(inputs: MeasureInputs) -> dict[str, jax.Array]:
    flat, unravel = ravel_pytree(inputs.params)
    f = lambda v: _mean_loss(inputs, on)(unravel(v))
    z = jax.random.normal(jax.random.fold_in(inputs.key, _FLAT), (samples,) + flat.shape,
                          flat.dtype)
    noisy = jax.lax.map(lambda zi: f(flat + sigma * zi), z)
    return {f"average_flatness_{on}": jnp.mean(noisy) - f(flat)}

  return family


def hessian(num_iters: int = 20, num_samples: int = 20, on: str = "adv"):
  """Family "hessian": hessian_top_{on}, the top eigenvalue of the loss Hessian in the
  parameters (Lanczos, `num_iters` HVPs), and hessian_trace_{on} (Hutchinson,
  `num_samples` Rademacher probes), both from `jaxrobust.theory`."""
  _checks.check_int_at_least("num_iters", num_iters, 1)
  _checks.check_int_at_least("num_samples", num_samples, 1)
  _checks.check_choice("on", on, ON)

  def family(inputs: MeasureInputs) -> dict[str, jax.Array]:
    hvp, dim = make_hvp(_mean_loss(inputs, on), inputs.params)
    top = lanczos(hvp, dim, key=jax.random.fold_in(inputs.key, _LANCZOS),
                  num_iters=num_iters).top
    trace, _ = hutchinson_trace(hvp, dim, key=jax.random.fold_in(inputs.key, _TRACE),
                                num_samples=num_samples)
    return {f"hessian_top_{on}": top, f"hessian_trace_{on}": trace}

  return family

