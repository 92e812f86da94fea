"""Fuzz of the public entries of optim, privacy, theory, models and data.augment.

Each case: (entry called with one bad input, expected error type, words its
message must contain). Bad numbers come as Python floats and as concrete jax
scalars alike. Below the cases: the checked mode (checkify) under jit, the L2
projection at underflowing radii, and the attack checks under `jit(...).lower`.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.experimental import checkify

from jaxrobust import _checks, data, losses, models, optim, privacy, theory
from jaxrobust.attacks import _core
from jaxrobust.attacks.pgd import PGD
from jaxrobust.theory import network, sharpness, smoothness
from tests.bad_input import assert_clear_error

NAN = float("nan")
KEY = jax.random.key(0)
W = jnp.array([1.0, -2.0, 0.5])
X = jnp.ones((4, 3))
Y = jnp.array([1.0, -1.0, 1.0, -1.0])
PARAMS = {"w": jnp.ones(3)}
SGD = optax.sgd(0.1)
IMAGE = jnp.zeros((8, 8, 3))
HVP = lambda v: 2.0 * v  # noqa: E731


def _linear_loss(params, batch):
  x, y = batch
  return (x @ params["w"] - y) ** 2


def _clipped(mask, l2_clip=1.0, **kwargs):
  batch = (jnp.ones((4, 3)), jnp.zeros(4))
  return lambda: privacy.clipped_grad_sum(_linear_loss, PARAMS, batch, mask, l2_clip=l2_clip,
                                          **kwargs)


def _flat_loss(theta):
  return jnp.sum(theta ** 2)


CASES = {
    # optim: SAM, ASAM, PSATT
    "sam_rho_negative": (lambda: optim.sam(SGD, -0.1), ValueError, ["rho", ">= 0", "-0.1"]),
    "sam_rho_nan_jax": (lambda: optim.sam(SGD, jnp.float32(NAN)), ValueError, ["rho", "finite"]),
    "sam_rho_vector": (lambda: optim.sam(SGD, jnp.ones(2)), ValueError, ["rho", "scalar", "(2,)"]),
    "asam_eta_negative": (lambda: optim.asam(SGD, 0.5, eta=-0.01), ValueError, ["eta", "-0.01"]),
    "asam_eta_nan_jax": (lambda: optim.asam(SGD, 0.5, eta=jnp.float32(NAN)), ValueError,
                         ["eta", "finite"]),
    "asam_rho_nan": (lambda: optim.asam(SGD, NAN), ValueError, ["rho", "finite"]),
    "psatt_rho_negative_jax": (lambda: optim.psatt(SGD, jnp.float32(-1.0)), ValueError,
                               ["rho", ">= 0"]),
    "psatt_period_zero": (lambda: optim.psatt(SGD, 0.05, period=0), ValueError,
                          ["period", "integer >= 1", "0"]),
    "psatt_period_float": (lambda: optim.psatt(SGD, 0.05, period=2.0), ValueError, ["period"]),
    "perturbation_rho_nan": (lambda: optim.perturbation(PARAMS, PARAMS, NAN), ValueError,
                             ["rho", "finite"]),
    "perturbation_eta_negative": (lambda: optim.perturbation(PARAMS, PARAMS, 0.1, eta=-1.0),
                                  ValueError, ["eta", ">= 0"]),
    "sam_gradient_rho_negative": (
        lambda: optim.sam_gradient(lambda p, b: jnp.sum(p["w"]), PARAMS, None, -0.5),
        ValueError, ["rho", "-0.5"]),
    # optim: DP-SGD, DP-SAT, privatize
    "dp_sgd_noise_negative_jax": (lambda: optim.dp_sgd(1.0, jnp.float32(-1.0), 8, KEY), ValueError,
                                  ["noise_multiplier", ">= 0", "-1"]),
    "dp_sgd_noise_nan": (lambda: optim.dp_sgd(1.0, NAN, 8, KEY), ValueError,
                         ["noise_multiplier", "finite"]),
    "dp_sgd_clip_zero_jax": (lambda: optim.dp_sgd(jnp.float32(0.0), 1.0, 8, KEY), ValueError,
                             ["l2_clip", "> 0"]),
    "dp_sgd_clip_inf": (lambda: optim.dp_sgd(float("inf"), 1.0, 8, KEY), ValueError,
                        ["l2_clip", "finite"]),
    "dp_sgd_batch_zero_jax": (lambda: optim.dp_sgd(1.0, 1.0, jnp.float32(0.0), KEY), ValueError,
                              ["expected_batch_size", "> 0"]),
    "dp_sat_rho_nan_jax": (lambda: optim.dp_sat(jnp.float32(NAN), 1.0, 1.0, 8, KEY), ValueError,
                           ["rho", "finite"]),
    "dp_sat_noise_negative": (lambda: optim.dp_sat(0.1, 1.0, -0.5, 8, KEY), ValueError,
                              ["noise_multiplier", "-0.5"]),
    "privatize_batch_zero": (lambda: optim.privatize(PARAMS, KEY, 1.0, 1.0, 0), ValueError,
                             ["expected_batch_size", "> 0", "got 0"]),
    "privatize_batch_negative_jax": (
        lambda: optim.privatize(PARAMS, KEY, 1.0, 1.0, jnp.float32(-8.0)), ValueError,
        ["expected_batch_size", "> 0"]),
    "privatize_clip_negative": (lambda: optim.privatize(PARAMS, KEY, -1.0, 1.0, 8), ValueError,
                                ["l2_clip", "-1.0"]),
    "privatize_noise_nan_jax": (lambda: optim.privatize(PARAMS, KEY, 1.0, jnp.float32(NAN), 8),
                                ValueError, ["noise_multiplier", "finite"]),
    # privacy: clipping
    "clip_factors_clip_zero": (lambda: privacy.clip_factors(jnp.ones(3), 0.0), ValueError,
                               ["l2_clip", "> 0", "0.0"]),
    "clip_factors_clip_negative_jax": (lambda: privacy.clip_factors(jnp.ones(3), jnp.float32(-1)),
                                       ValueError, ["l2_clip", "> 0"]),
    "clip_factors_clip_nan": (lambda: privacy.clip_factors(jnp.ones(3), NAN), ValueError,
                              ["l2_clip", "finite"]),
    "clipped_sum_clip_zero_jax": (_clipped(jnp.ones(4), jnp.float32(0.0)), ValueError,
                                  ["l2_clip", "> 0"]),
    "clipped_sum_mask_short": (_clipped(jnp.ones(3)), ValueError,
                               ["mask 3", "batch[0] 4", "batch[1] 4"]),
    "clipped_sum_mask_2d": (_clipped(jnp.ones((4, 1))), ValueError, ["mask", "[batch]", "(4, 1)"]),
    "clipped_sum_mode": (_clipped(jnp.ones(4), mode="opacus"), ValueError,
                         ["clipping mode", "'opacus'", "vmap", "ghost"]),
    # privacy: sampling
    "poisson_rate_above_one": (lambda: privacy.poisson_batch(KEY, 10, 1.5, 4), ValueError,
                               ["sampling_prob", "<= 1", "1.5"]),
    "poisson_rate_negative": (lambda: privacy.poisson_batch(KEY, 10, -0.1, 4), ValueError,
                              ["sampling_prob", "> 0", "-0.1"]),
    "poisson_rate_nan_jax": (lambda: privacy.poisson_batch(KEY, 10, jnp.float32(NAN), 4),
                             ValueError, ["sampling_prob", "finite"]),
    "poisson_physical_zero": (lambda: privacy.poisson_batch(KEY, 10, 0.5, 0), ValueError,
                              ["physical_size", ">= 1"]),
    "poisson_num_examples_float": (lambda: privacy.poisson_batch(KEY, 10.0, 0.5, 4), ValueError,
                                   ["num_examples", "integer"]),
    "physical_size_rate_above_one": (lambda: privacy.physical_batch_size(100, 1.5), ValueError,
                                     ["sampling_prob", "1.5"]),
    "physical_size_rate_nan": (lambda: privacy.physical_batch_size(100, NAN), ValueError,
                               ["sampling_prob", "finite"]),
    "physical_size_no_examples": (lambda: privacy.physical_batch_size(0, 0.1), ValueError,
                                  ["num_examples", ">= 1", "0"]),
    "physical_size_overflow_nan": (lambda: privacy.physical_batch_size(100, 0.1, NAN), ValueError,
                                   ["overflow_prob"]),
    # privacy: accounting (the accountant's name first, even where no accountant is needed)
    "epsilon_moments_no_steps": (lambda: privacy.epsilon(1.0, 0.1, 0, 1e-5, accountant="moments"),
                                 ValueError, ["accountant", "'moments'", "rdp", "pld"]),
    "epsilon_moments_no_noise": (lambda: privacy.epsilon(0.0, 0.1, 5, 1e-5, accountant="moments"),
                                 ValueError, ["accountant", "'moments'"]),
    "epsilon_noise_nan_jax": (lambda: privacy.epsilon(jnp.float32(NAN), 0.1, 5, 1e-5), ValueError,
                              ["noise_multiplier", "finite"]),
    "epsilon_noise_string": (lambda: privacy.epsilon("1.0", 0.1, 5, 1e-5), TypeError,
                             ["noise_multiplier", "real number", "'1.0'"]),
    "epsilon_rate_above_one": (lambda: privacy.epsilon(1.0, 1.5, 5, 1e-5), ValueError,
                               ["sampling_prob", "1.5"]),
    "epsilon_delta_zero": (lambda: privacy.epsilon(1.0, 0.1, 5, 0.0), ValueError, ["delta", "> 0"]),
    "epsilon_delta_one": (lambda: privacy.epsilon(1.0, 0.1, 5, 1.0), ValueError, ["delta", "(0, 1)"]),
    "epsilon_delta_nan": (lambda: privacy.epsilon(1.0, 0.1, 5, NAN), ValueError, ["delta", "finite"]),
    "epsilon_steps_negative": (lambda: privacy.epsilon(1.0, 0.1, -1, 1e-5), ValueError,
                               ["steps", ">= 0", "-1"]),
    "epsilon_steps_fraction": (lambda: privacy.epsilon(1.0, 0.1, 2.5, 1e-5), ValueError,
                               ["steps", "integer", "2.5"]),
    "epsilon_steps_nan": (lambda: privacy.epsilon(1.0, 0.1, NAN, 1e-5), ValueError,
                          ["steps", "finite"]),
    "dpsgd_event_noise_negative": (lambda: privacy.dpsgd_event(-1.0, 0.1, 5), ValueError,
                                   ["noise_multiplier", "-1.0"]),
    "calibrate_target_nan": (lambda: privacy.calibrate_noise(NAN, 1e-5, 0.1, 10), ValueError,
                             ["target_epsilon", "finite"]),
    "calibrate_accountant": (lambda: privacy.calibrate_noise(1.0, 1e-5, 0.1, 10, "moments"),
                             ValueError, ["accountant", "'moments'"]),
    "calibrate_tol_zero": (lambda: privacy.calibrate_noise(1.0, 1e-5, 0.1, 10, tol=0.0),
                           ValueError, ["tol", "> 0"]),
    "accountant_noise_negative_jax": (lambda: privacy.Accountant(jnp.float32(-2.0), 0.1, 1e-5),
                                      ValueError, ["noise_multiplier", ">= 0"]),
    "accountant_name": (lambda: privacy.Accountant(1.0, 0.1, 1e-5, "gdp"), ValueError,
                        ["accountant", "'gdp'", "rdp"]),
    # theory: linear closed forms
    "margin_x_y_lengths": (lambda: theory.adversarial_margin(W, 0.0, X, Y[:3], 0.1, 2), ValueError,
                           ["x 4", "y 3"]),
    "margin_x_features": (lambda: theory.adversarial_margin(W, 0.0, X[:, :2], Y, 0.1, 2),
                          ValueError, ["x", "len(w) = 3", "(4, 2)"]),
    "margin_w_matrix": (lambda: theory.adversarial_margin(X, 0.0, X, Y, 0.1, 2), ValueError,
                        ["w", "[d]", "(4, 3)"]),
    "margin_eps_nan_jax": (lambda: theory.adversarial_margin(W, 0.0, X, Y, jnp.float32(NAN), 2),
                           ValueError, ["eps", "finite"]),
    "logistic_y_lengths": (lambda: theory.adversarial_logistic_loss(W, 0.0, X, Y[:2], 0.1, "l2"),
                           ValueError, ["x 4", "y 2"]),
    "hinge_eps_negative_jax": (
        lambda: theory.adversarial_hinge_loss(W, 0.0, X, Y, jnp.float32(-0.1), "linf"),
        ValueError, ["eps", ">= 0"]),
    "hinge_labels_01": (lambda: theory.adversarial_hinge_loss(W, 0.0, X, (Y + 1) / 2, 0.1, 2),
                        ValueError, ["labels", "-1 or +1", "to_signed_labels"]),
    "perturbation_eps_nan": (lambda: theory.optimal_perturbation(W, Y, NAN, 2), ValueError,
                             ["eps", "finite"]),
    "perturbation_y_matrix": (lambda: theory.optimal_perturbation(W, X, 0.1, 2), ValueError,
                              ["y", "[n]", "(4, 3)"]),
    "signed_labels_two": (lambda: theory.to_signed_labels(jnp.array([0, 2])), ValueError,
                          ["labels", "0 or 1", "2"]),
    "logits_fn_features": (lambda: theory.two_class_logits_fn(W, 0.0)(jnp.ones((2, 5))),
                           ValueError, ["x", "len(w) = 3", "got 5"]),
    "dual_exponent_half": (lambda: theory.dual_exponent(0.5), ValueError, ["p", ">= 1", "0.5"]),
    "dual_norm_name": (lambda: theory.dual_norm(W, "l3"), ValueError, ["norm", "'l3'", "linf"]),
    # theory: sharpness
    "objective_x_y_lengths": (lambda: theory.objective(X, Y[:3], 0.1), ValueError, ["x 4", "y 3"]),
    "objective_weight_decay_nan": (lambda: theory.objective(X, Y, 0.1, weight_decay=NAN),
                                   ValueError, ["weight_decay", "finite"]),
    "objective_loss_name": (lambda: theory.objective(X, Y, 0.1, loss="square"), ValueError,
                            ["margin loss", "'square'", "logistic"]),
    "fit_steps_zero": (lambda: theory.fit_adversarial_logreg(X, Y, 0.1, steps=0), ValueError,
                       ["steps", ">= 1", "0"]),
    "robust_accuracy_lengths": (lambda: sharpness.robust_accuracy(jnp.ones(4), X, Y[:1], 0.1, 2),
                                ValueError, ["x 4", "y 1"]),
    "gaussians_n_one": (lambda: theory.overlapping_gaussians(KEY, n=1), ValueError,
                        ["n", ">= 2", "1"]),
    "gaussians_scale_negative": (lambda: theory.overlapping_gaussians(KEY, scale=-1.0),
                                 ValueError, ["scale", ">= 0", "-1.0"]),
    "measure_sharpness_iters_zero": (
        lambda: theory.measure_sharpness(_flat_loss, jnp.ones(3), key=KEY, lanczos_iters=0),
        ValueError, ["num_iters", ">= 1"]),
    # theory: Hessian routines
    "power_iteration_iters_bool": (lambda: theory.power_iteration(HVP, 3, key=KEY, num_iters=True),
                                   ValueError, ["num_iters", "integer", "True"]),
    "lanczos_dim_zero": (lambda: theory.lanczos(HVP, 0, key=KEY), ValueError, ["dim", ">= 1", "0"]),
    "hutchinson_samples_negative": (
        lambda: theory.hutchinson_trace(HVP, 3, key=KEY, num_samples=-1), ValueError,
        ["num_samples", ">= 1", "-1"]),
    # theory: smoothness
    "segment_points_one": (lambda: smoothness.segment(W, W, 1), ValueError, ["num_points", ">= 2"]),
    "segment_lengths": (lambda: smoothness.segment(W, W[:2], 3), ValueError,
                        ["start 3", "end 2"]),
    "across_step_zero": (
        lambda: theory.gradient_lipschitz_across(_flat_loss, W, W, jnp.array([0.1, 0.0])),
        ValueError, ["steps", "> 0"]),
    "across_direction_zero": (
        lambda: theory.gradient_lipschitz_across(_flat_loss, W, jnp.zeros(3), jnp.array([0.1])),
        ValueError, ["||direction||", "> 0"]),
    "random_pairs_radius_nan": (
        lambda: theory.gradient_lipschitz_random_pairs(_flat_loss, W, NAN, key=KEY), ValueError,
        ["radius", "finite"]),
    "random_pairs_count_zero": (
        lambda: theory.gradient_lipschitz_random_pairs(_flat_loss, W, 1.0, key=KEY, num_pairs=0),
        ValueError, ["num_pairs", ">= 1"]),
    "lipschitz_bound_eps_nan": (lambda: theory.l2_gradient_lipschitz_bound(X, NAN, 1.0),
                                ValueError, ["eps", "finite"]),
    "lipschitz_bound_min_norm_nan": (lambda: theory.l2_gradient_lipschitz_bound(X, 0.1, NAN),
                                     ValueError, ["min_norm", "finite", "> 0"]),
    "descent_path_lr_nan_jax": (
        lambda: theory.gradient_descent_path(_flat_loss, W, jnp.float32(NAN), 3), ValueError,
        ["learning_rate", "finite"]),
    "descent_path_steps_zero": (lambda: theory.gradient_descent_path(_flat_loss, W, 0.1, 0),
                                ValueError, ["steps", ">= 1"]),
    # theory: the network experiment
    "pgd_at_lengths": (
        lambda: network.train_pgd_at(KEY, jnp.zeros((4, 2, 2, 1)), jnp.zeros(3, jnp.int32), 0.1,
                                     classes=2),
        ValueError, ["x 4", "labels 3"]),
    "pgd_at_label_high": (
        lambda: network.train_pgd_at(KEY, jnp.zeros((4, 2, 2, 1)), jnp.array([0, 1, 2, 1]), 0.1,
                                     classes=2),
        ValueError, ["labels", "[0, 2)"]),
    "pgd_at_lr_negative": (
        lambda: network.train_pgd_at(KEY, jnp.zeros((4, 2, 2, 1)), jnp.zeros(4, jnp.int32), 0.1,
                                     classes=2, learning_rate=-1e-2),
        ValueError, ["learning_rate", "> 0"]),
    "net_sharpness_lengths": (
        lambda: network.net_sharpness({}, jnp.zeros((4, 2)), jnp.zeros(5, jnp.int32), key=KEY),
        ValueError, ["x_adv 4", "labels 5"]),
    "init_mlp_hidden_zero": (lambda: network.init_mlp(KEY, 4, 0, 2), ValueError, ["hidden", ">= 1"]),
    # models: the dataset fields, at construction (before flax divides by zero)
    "linear_no_classes": (lambda: models.Linear(num_classes=0, mean=(0.5,), std=(0.2,)),
                          ValueError, ["num_classes", ">= 2", "0"]),
    "mlp_one_class": (lambda: models.MLP(num_classes=1, mean=(0.5,), std=(0.2,)), ValueError,
                      ["num_classes", ">= 2"]),
    "cnn_classes_float": (lambda: models.SmallCNN(num_classes=10.0, mean=(0.5,), std=(0.2,)),
                          ValueError, ["num_classes", "integer", "10.0"]),
    "cnn_mean_1_std_3": (lambda: models.SmallCNN(num_classes=10, mean=(0.5,), std=(0.2,) * 3),
                         ValueError, ["mean and std", "1 and 3"]),
    "resnet_std_zero": (lambda: models.PreActResNet18(num_classes=10, mean=(0.5,) * 3,
                                                      std=(0.2, 0.0, 0.2)),
                        ValueError, ["std[1]", "> 0", "0.0"]),
    "wrn_mean_nan": (lambda: models.WideResNet(num_classes=10, mean=(NAN,), std=(0.2,)),
                     ValueError, ["mean[0]", "finite"]),
    "normalize_mean_scalar": (lambda: models.Normalize(mean=0.5, std=(0.2,)), ValueError,
                              ["mean", "per-channel", "0.5"]),
    "normalize_lengths": (lambda: models.Normalize(mean=(0.5,) * 3, std=(0.2,)), ValueError,
                          ["mean and std", "3 and 1"]),
    # data.augment: one image instead of a batch, bad padding
    "random_crop_one_image": (lambda: data.random_crop(KEY, IMAGE, 2), ValueError,
                              ["images", "[batch, height, width, channels]", "(8, 8, 3)",
                               "images[None]"]),
    "random_flip_one_image": (lambda: data.random_flip(KEY, IMAGE), ValueError,
                              ["images", "[batch, height, width, channels]", "(8, 8, 3)"]),
    "augment_one_image": (lambda: data.augment(KEY, IMAGE, crop_padding=0, flip=True), ValueError,
                          ["images", "(8, 8, 3)"]),
    "random_crop_padding_negative": (lambda: data.random_crop(KEY, IMAGE[None], -1), ValueError,
                                     ["padding", ">= 0", "-1"]),
    "random_crop_padding_float": (lambda: data.random_crop(KEY, IMAGE[None], 1.5), ValueError,
                                  ["padding", "integer", "1.5"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_raises_a_clear_error(name):
  assert_clear_error(*CASES[name])


def test_make_optimizer_refuses_a_nan_learning_rate():
  import ml_collections
  from jaxrobust.train.optimizers import make_optimizer
  config = ml_collections.ConfigDict({"name": "sgd", "learning_rate": NAN,
                                      "schedule": "constant"})
  assert_clear_error(lambda: make_optimizer(config, 10), ValueError,
                     ["learning_rate", "finite", "nan"])


def test_good_input_passes_the_same_checks():
  assert float(privacy.epsilon(1.0, 0.1, 0, 1e-5)) == 0.0
  assert privacy.epsilon(jnp.float32(1.0), 0.1, 10, 1e-5) > 0
  np.testing.assert_array_equal(privacy.clip_factors(jnp.array([0.5, 4.0]), 2.0), [1.0, 0.5])
  idx, mask, count = privacy.poisson_batch(KEY, 10, jnp.float32(1.0), 10)
  assert int(count) == 10 and float(mask.sum()) == 10
  optim.dp_sgd(jnp.float32(1.0), jnp.float32(0.0), jnp.float32(8.0), KEY)
  optim.sam(SGD, jnp.float32(0.0))
  models.Linear(num_classes=2, mean=[0.5], std=[0.25])
  assert data.random_crop(KEY, IMAGE[None], 2).shape == (1, 8, 8, 3)
  np.testing.assert_allclose(theory.to_signed_labels(jnp.array([0, 1])), [-1.0, 1.0])


# ---------------------------------------------------------------- checked mode

def test_checked_mode_raises_for_traced_values_that_jit_alone_lets_through():
  margin = lambda eps: theory.adversarial_margin(W, 0.0, X, Y, eps, 2)  # noqa: E731
  assert bool(jnp.all(jnp.isnan(jax.jit(margin)(jnp.float32(NAN)))))  # unchecked under jit
  np.testing.assert_array_equal(_checks.checked(margin)(0.1), margin(0.1))
  with pytest.raises(checkify.JaxRuntimeError, match=r"eps must be finite and >= 0, got nan"):
    _checks.checked(margin)(jnp.float32(NAN))
  with pytest.raises(ValueError, match="noise_multiplier must be finite and >= 0"):
    _checks.checked(lambda s: optim.privatize(PARAMS, KEY, 1.0, s, 8.0))(-1.0)
  logits = jnp.zeros((2, 4))
  with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\)"):
    _checks.checked(losses.cross_entropy)(logits, jnp.array([0, 9]))
  # The checks add nothing to a program traced outside the checked mode.
  assert "check" not in str(jax.make_jaxpr(margin)(0.1))


def test_checked_mode_catches_a_nan_attack_radius_under_jit():
  logits_fn = lambda x: x.reshape(x.shape[0], -1)[:, :3]  # noqa: E731
  x, y = jnp.full((2, 2, 2, 1), 0.5), jnp.array([0, 1])
  def attack(eps):
    return PGD(eps=eps, step_size=0.1, steps=1, norm="l2", random_start=False)(logits_fn, x, y)
  assert _checks.checked(attack)(0.1).shape == x.shape
  with pytest.raises(checkify.JaxRuntimeError, match="eps must be finite"):
    _checks.checked(attack)(jnp.float32(NAN))


# ---------------------------------------------------------------- attacks' core

def test_check_nonnegative_under_jit_lower_with_traced_eps():
  f = lambda eps: (_core.check_nonnegative("eps", eps), 2 * eps)[1]  # noqa: E731
  jax.jit(f).lower(jnp.float32(0.1))
  jax.jit(f).lower(jax.ShapeDtypeStruct((), jnp.float32))
  logits_fn = lambda x: x.reshape(x.shape[0], -1)[:, :3]  # noqa: E731
  attack = PGD(eps=0.1, step_size=0.05, steps=1, norm="linf", random_start=False)
  x, y = jnp.full((2, 2, 2, 1), 0.5), jnp.array([0, 1])
  jax.jit(lambda a, x: a(logits_fn, x, y)).lower(attack, x)  # jax rebuilds it from tracers
  with pytest.raises(ValueError, match="eps must be finite and >= 0"):
    _core.check_nonnegative("eps", jnp.float32(-1.0))


@pytest.mark.parametrize("size, eps", [(1e-20, 1e-20), (1e-20, 1e-21), (1e-25, 1e-22),
                                       (0.0, 1e-30), (3e-21, 5e-20)])
def test_l2_projection_of_underflowing_radii_is_finite_and_in_the_ball(size, eps):
  delta = jnp.full((2, 3, 3, 1), size, jnp.float32).at[1, 0, 0, 0].set(0.0)
  out = np.asarray(_core.project(delta, eps, "l2"), np.float64)
  assert np.all(np.isfinite(out))
  norms = np.linalg.norm(out.reshape(2, -1), axis=1)
  assert np.all(norms <= np.float32(eps) * (1 + 1e-5)), norms
  direct = np.asarray(delta, np.float64)  # the projection is a rescaling of delta
  scale = min(1.0, eps / np.linalg.norm(direct[0])) if size else 1.0
  np.testing.assert_allclose(out[0], direct[0] * scale, rtol=1e-5)


def test_l2_projection_of_normal_inputs_is_unchanged_bit_for_bit():
  delta = jax.random.normal(KEY, (8, 5, 5, 3)) * jnp.logspace(-6, 1, 8)[:, None, None, None]
  eps = jnp.array([0.0, 1e-3, 0.1, 1.0, 2.0, 1e-6, 0.5, 3.0])
  ball = jax.vmap(optax.projections.projection_l2_ball)
  expected = jnp.where((eps > 0)[:, None, None, None], ball(delta, eps), 0.0)
  np.testing.assert_array_equal(_core.project(delta, eps, "l2"), expected)
  np.testing.assert_array_equal(jax.jit(_core.project, static_argnums=2)(delta, eps, "l2"),
                                jax.jit(lambda d, e: jnp.where((e > 0)[:, None, None, None],
                                                               ball(d, e), 0.0))(delta, eps))
