"""Norm-based measures: parameter norms, distances to initialization, products of
spectral and Frobenius norms (with and without the output margin), path norm.

Weights are the Dense/Conv kernels (biases and normalization layers excluded); a
Conv kernel counts as the matrix [k * k * in, out]. BatchNorm is folded into the
preceding convolution before measuring (`jaxrobust.models.fold_batchnorm`, as Jiang
et al. do; `experiments.measures` folds every member): params that still hold
BatchNorm are refused unless batchnorm="ignore", which measures the kernels alone
(for pre-activation BatchNorm, which has no exact fold).

Definitions follow Jiang et al. 2020 (Appendix C) as the lab's prototype writes them
(JinseongP/DPSAT, src/nn/measures/generalization.py): with d layers, spec_i =
||W_i||_2^2, fro_i = ||W_i||_F^2 and gamma = |10th percentile of the clean output
margins|:
  log_prod_of_spec = sum_i log spec_i;  ..._over_margin = that - 2 log gamma;
  log_sum_of_spec(_over_margin) = log d + (1/d) log_prod_of_spec(_over_margin);
  log_spec_init_main = log_prod_of_spec_over_margin + log sum_i ||W_i - W0_i||_F^2 / spec_i;
  log_spec_orig_main = log_prod_of_spec_over_margin + log fro_over_spec,
    fro_over_spec = sum_i fro_i / spec_i;
  the Frobenius analogues; fro_dist = sum_i ||W_i - W0_i||_F^2,
  dist_spec_init = sum_i ||W_i - W0_i||_2^2, param_norm = sum_i fro_i;
  path_norm = sum_j f_{w^2}(1)_j, the summed outputs on an all-ones input of the
    network whose parameters are all squared elementwise, weights AND biases
    (Jiang et al. 2020, Appendix C, "path-norm", eq. for mu_path-norm, and their
    code, which squares every parameter; the lab's prototype does the same); for a
    ReLU MLP that is 1^T relu(...relu(1^T W_1^2 + b_1^2)... W_d^2 + b_d^2), where
    every pre-activation is nonnegative so the ReLUs pass it through;
    path_norm_over_margin = path_norm / gamma^2.
The all-ones input passes through the model's own normalization layer, i.e. the
network sees the constant (1 - mean) / std (as in Jiang et al., whose models
normalize inside the data pipeline, this is a fixed input per dataset).

References: Jiang, Neyshabur, Mobahi, Krishnan, Bengio, "Fantastic Generalization
Measures and Where to Find Them", ICLR 2020; Bartlett et al. 2017 (spectral
bounds); Neyshabur et al. 2015 (path norm); Kim et al., NeurIPS 2023.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrobust import _checks
from jaxrobust.measures import _params
from jaxrobust.measures.inputs import MeasureInputs
from jaxrobust.measures.margin import percentile_margin


def spectral_norm(matrix: jax.Array) -> jax.Array:
  """Largest singular value of a matrix [m, n]."""
  _checks.check_ndim("matrix", matrix, ("m", "n"))
  return jnp.linalg.svd(matrix, compute_uv=False)[0]


def _has_batchnorm(params) -> bool:
  leaves = jax.tree_util.tree_flatten_with_path(params)[0]
  return any("BatchNorm" in jax.tree_util.keystr(path) for path, _ in leaves)


BATCHNORM = ("error", "ignore")


def norm(percentile: float = 10.0, batchnorm: str = "error"):
  """Family "norm": the measures of the module docstring, one dict.

  batchnorm: "error" raises for params with BatchNorm layers (fold them first with
  `models.fold_batchnorm`); "ignore" measures the kernels alone.
  """
  _checks.check_real("percentile", percentile, low=0, high=100)
  _checks.check_choice("batchnorm", batchnorm, BATCHNORM)

  def family(inputs: MeasureInputs) -> dict[str, jax.Array]:
    if batchnorm == "error" and _has_batchnorm(inputs.params):
      raise ValueError("params hold BatchNorm parameters: fold them into the preceding "
                       "convolution first (jaxrobust.models.fold_batchnorm(model, "
                       "variables)), or, where BatchNorm precedes its layer and has no "
                       "exact fold, pass options={'norm': {'batchnorm': 'ignore'}} to "
                       "measure the kernels alone.")
    w = _params.weight_matrices(inputs.params)
    w0 = _params.weight_matrices(inputs.params_init)
    dist = [a - b for a, b in zip(w, w0)]
    depth = len(w)
    spec = jnp.stack([spectral_norm(m) ** 2 for m in w])
    fro = jnp.stack([jnp.sum(m * m) for m in w])
    dist_fro = jnp.stack([jnp.sum(m * m) for m in dist])
    dist_spec = jnp.stack([spectral_norm(m) ** 2 for m in dist])
    gamma = jnp.abs(percentile_margin(inputs.logits_fn()(inputs.x), inputs.y, percentile))
    log_gamma2 = 2.0 * jnp.log(jnp.maximum(gamma, 1e-12))
    log_d = jnp.log(float(depth))
    lps = jnp.sum(jnp.log(spec))
    lpf = jnp.sum(jnp.log(fro))
    fro_over_spec = jnp.sum(fro / spec)
    ones = jnp.ones((1,) + inputs.x.shape[1:], inputs.x.dtype)
    path = jnp.sum(inputs.apply_fn(_params.squared_params(inputs.params), ones))
    w_vec = jnp.concatenate([m.reshape(-1) for m in w])
    d_vec = jnp.concatenate([m.reshape(-1) for m in dist])
    return {
        "l2": jnp.linalg.norm(w_vec),
        "l2_dist": jnp.linalg.norm(d_vec),
        "params": jnp.asarray(float(w_vec.size)),
        "log_prod_of_spec": lps,
        "log_prod_of_spec_over_margin": lps - log_gamma2,
        "log_spec_init_main": lps - log_gamma2 + jnp.log(jnp.sum(dist_fro / spec)),
        "fro_over_spec": fro_over_spec,
        "log_spec_orig_main": lps - log_gamma2 + jnp.log(fro_over_spec),
        "log_sum_of_spec": log_d + lps / depth,
        "log_sum_of_spec_over_margin": log_d + (lps - log_gamma2) / depth,
        "log_prod_of_fro": lpf,
        "log_prod_of_fro_over_margin": lpf - log_gamma2,
        "log_sum_of_fro": log_d + lpf / depth,
        "log_sum_of_fro_over_margin": log_d + (lpf - log_gamma2) / depth,
        "fro_dist": jnp.sum(dist_fro),
        "dist_spec_init": jnp.sum(dist_spec),
        "param_norm": jnp.sum(fro),
        "path_norm": path,
        "path_norm_over_margin": path / jnp.maximum(gamma, 1e-12) ** 2,
    }

  return family
