"""Bad input to theory's public entries (linear closed forms, sharpness, Hessian
routines, smoothness, the network experiment): a clear error each."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxrobust import theory
from jaxrobust.theory import network, sharpness, smoothness
from tests.bad_input import fuzz_test

NAN = float("nan")
KEY = jax.random.key(0)
W = jnp.array([1.0, -2.0, 0.5])
X = jnp.ones((4, 3))
Y = jnp.array([1.0, -1.0, 1.0, -1.0])
HVP = lambda v: 2.0 * v  # noqa: E731


def _flat_loss(theta):
  return jnp.sum(theta ** 2)


def _pgd_at(labels, **kwargs):
  return lambda: network.train_pgd_at(KEY, jnp.zeros((4, 2, 2, 1)), labels, 0.1, classes=2,
                                      **kwargs)


CASES = {
    "theory.adversarial_margin:x_y_lengths": (
        lambda: theory.adversarial_margin(W, 0.0, X, Y[:3], 0.1, 2), ValueError, ["x 4", "y 3"]),
    "theory.adversarial_margin:x_features": (
        lambda: theory.adversarial_margin(W, 0.0, X[:, :2], Y, 0.1, 2),
        ValueError, ["x", "len(w) = 3", "(4, 2)"]),
    "theory.adversarial_margin:w_matrix": (
        lambda: theory.adversarial_margin(X, 0.0, X, Y, 0.1, 2),
        ValueError, ["w", "[d]", "(4, 3)"]),
    "theory.adversarial_margin:eps_nan_jax": (
        lambda: theory.adversarial_margin(W, 0.0, X, Y, jnp.float32(NAN), 2),
        ValueError, ["eps", "finite"]),
    "theory.adversarial_logistic_loss:y_lengths": (
        lambda: theory.adversarial_logistic_loss(W, 0.0, X, Y[:2], 0.1, "l2"),
        ValueError, ["x 4", "y 2"]),
    "theory.adversarial_hinge_loss:eps_negative_jax": (
        lambda: theory.adversarial_hinge_loss(W, 0.0, X, Y, jnp.float32(-0.1), "linf"),
        ValueError, ["eps", ">= 0"]),
    "theory.adversarial_hinge_loss:labels_01": (
        lambda: theory.adversarial_hinge_loss(W, 0.0, X, (Y + 1) / 2, 0.1, 2),
        ValueError, ["labels", "-1 or +1", "to_signed_labels"]),
    "theory.optimal_perturbation:eps_nan": (
        lambda: theory.optimal_perturbation(W, Y, NAN, 2), ValueError, ["eps", "finite"]),
    "theory.optimal_perturbation:y_matrix": (
        lambda: theory.optimal_perturbation(W, X, 0.1, 2), ValueError, ["y", "[n]", "(4, 3)"]),
    "theory.to_signed_labels:two": (
        lambda: theory.to_signed_labels(jnp.array([0, 2])), ValueError, ["labels", "0 or 1", "2"]),
    "theory.two_class_logits_fn:features": (
        lambda: theory.two_class_logits_fn(W, 0.0)(jnp.ones((2, 5))),
        ValueError, ["x", "len(w) = 3", "got 5"]),
    "theory.dual_exponent:half": (
        lambda: theory.dual_exponent(0.5), ValueError, ["p", ">= 1", "0.5"]),
    "theory.dual_norm:name": (
        lambda: theory.dual_norm(W, "l3"), ValueError, ["norm", "'l3'", "linf"]),
    "theory.objective:x_y_lengths": (
        lambda: theory.objective(X, Y[:3], 0.1), ValueError, ["x 4", "y 3"]),
    "theory.objective:weight_decay_nan": (
        lambda: theory.objective(X, Y, 0.1, weight_decay=NAN),
        ValueError, ["weight_decay", "finite"]),
    "theory.objective:loss_name": (
        lambda: theory.objective(X, Y, 0.1, loss="square"),
        ValueError, ["margin loss", "'square'", "logistic"]),
    "theory.fit_adversarial_logreg:steps_zero": (
        lambda: theory.fit_adversarial_logreg(X, Y, 0.1, steps=0),
        ValueError, ["steps", ">= 1", "0"]),
    "theory.sharpness.robust_accuracy:lengths": (
        lambda: sharpness.robust_accuracy(jnp.ones(4), X, Y[:1], 0.1, 2),
        ValueError, ["x 4", "y 1"]),
    "theory.overlapping_gaussians:n_one": (
        lambda: theory.overlapping_gaussians(KEY, n=1), ValueError, ["n", ">= 2", "1"]),
    "theory.overlapping_gaussians:scale_negative": (
        lambda: theory.overlapping_gaussians(KEY, scale=-1.0),
        ValueError, ["scale", ">= 0", "-1.0"]),
    "theory.measure_sharpness:iters_zero": (
        lambda: theory.measure_sharpness(_flat_loss, jnp.ones(3), key=KEY, lanczos_iters=0),
        ValueError, ["num_iters", ">= 1"]),
    "theory.power_iteration:iters_bool": (
        lambda: theory.power_iteration(HVP, 3, key=KEY, num_iters=True),
        ValueError, ["num_iters", "integer", "True"]),
    "theory.lanczos:dim_zero": (
        lambda: theory.lanczos(HVP, 0, key=KEY), ValueError, ["dim", ">= 1", "0"]),
    "theory.hutchinson_trace:samples_negative": (
        lambda: theory.hutchinson_trace(HVP, 3, key=KEY, num_samples=-1),
        ValueError, ["num_samples", ">= 1", "-1"]),
    "theory.smoothness.segment:points_one": (
        lambda: smoothness.segment(W, W, 1), ValueError, ["num_points", ">= 2"]),
    "theory.smoothness.segment:lengths": (
        lambda: smoothness.segment(W, W[:2], 3), ValueError, ["start 3", "end 2"]),
    "theory.gradient_lipschitz_across:step_zero": (
        lambda: theory.gradient_lipschitz_across(_flat_loss, W, W, jnp.array([0.1, 0.0])),
        ValueError, ["steps", "> 0"]),
    "theory.gradient_lipschitz_across:direction_zero": (
        lambda: theory.gradient_lipschitz_across(_flat_loss, W, jnp.zeros(3), jnp.array([0.1])),
        ValueError, ["||direction||", "> 0"]),
    "theory.gradient_lipschitz_random_pairs:radius_nan": (
        lambda: theory.gradient_lipschitz_random_pairs(_flat_loss, W, NAN, key=KEY),
        ValueError, ["radius", "finite"]),
    "theory.gradient_lipschitz_random_pairs:count_zero": (
        lambda: theory.gradient_lipschitz_random_pairs(_flat_loss, W, 1.0, key=KEY, num_pairs=0),
        ValueError, ["num_pairs", ">= 1"]),
    "theory.l2_gradient_lipschitz_bound:eps_nan": (
        lambda: theory.l2_gradient_lipschitz_bound(X, NAN, 1.0), ValueError, ["eps", "finite"]),
    "theory.l2_gradient_lipschitz_bound:min_norm_nan": (
        lambda: theory.l2_gradient_lipschitz_bound(X, 0.1, NAN),
        ValueError, ["min_norm", "finite", "> 0"]),
    "theory.gradient_descent_path:lr_nan_jax": (
        lambda: theory.gradient_descent_path(_flat_loss, W, jnp.float32(NAN), 3),
        ValueError, ["learning_rate", "finite"]),
    "theory.gradient_descent_path:steps_zero": (
        lambda: theory.gradient_descent_path(_flat_loss, W, 0.1, 0), ValueError, ["steps", ">= 1"]),
    "theory.network.train_pgd_at:lengths": (
        _pgd_at(jnp.zeros(3, jnp.int32)),
        ValueError, ["x 4", "labels 3"]),
    "theory.network.train_pgd_at:label_high": (
        _pgd_at(jnp.array([0, 1, 2, 1])),
        ValueError, ["labels", "[0, 2)"]),
    "theory.network.train_pgd_at:lr_negative": (
        _pgd_at(jnp.zeros(4, jnp.int32), learning_rate=-1e-2),
        ValueError, ["learning_rate", "> 0"]),
    "theory.network.net_sharpness:lengths": (
        lambda: network.net_sharpness({}, jnp.zeros((4, 2)), jnp.zeros(5, jnp.int32), key=KEY),
        ValueError, ["x_adv 4", "labels 5"]),
    "theory.network.init_mlp:hidden_zero": (
        lambda: network.init_mlp(KEY, 4, 0, 2), ValueError, ["hidden", ">= 1"]),
    "theory.steepest_unit_vector:p_half": (lambda: theory.steepest_unit_vector(W, 0.5),
                                           ValueError, ["p", ">= 1", "0.5"]),
    "theory.steepest_unit_vector:w_matrix": (lambda: theory.steepest_unit_vector(X, 2),
                                             ValueError, ["w", "[d]", "(4, 3)"]),
    "theory.hessian_norm:w_matrix": (lambda: theory.hessian_norm(_flat_loss, X), ValueError,
                                     ["w", "[d]", "(4, 3)"]),
    "theory.gradient_lipschitz_along_path:one_point": (
        lambda: theory.gradient_lipschitz_along_path(_flat_loss, W[None]), ValueError,
        ["path", ">= 2", "(1, 3)"]),
    "theory.gradient_lipschitz_along_path:path_vector": (
        lambda: theory.gradient_lipschitz_along_path(_flat_loss, W), ValueError,
        ["path", "[points, d]", "(3,)"]),
    "theory.exact_hessian:params_nan": (
        lambda: theory.exact_hessian(_flat_loss, W.at[0].set(NAN)), ValueError,
        ["params", "finite"]),
    "theory.make_hvp:params_nan": (lambda: theory.make_hvp(_flat_loss, W.at[0].set(NAN)),
                                   ValueError, ["params", "finite"]),
    "theory.adversarial_margin:labels_01": (
        lambda: theory.adversarial_margin(W, 0.0, X, (Y + 1) / 2, 0.1, 2), ValueError,
        ["-1 or +1", "to_signed_labels"]),
    "theory.optimal_perturbation:labels_01": (
        lambda: theory.optimal_perturbation(W, (Y + 1) / 2, 0.1, 2), ValueError,
        ["-1 or +1", "to_signed_labels"]),
}

test_bad_input_raises_a_clear_error = fuzz_test(CASES)


def test_good_input_passes_the_same_checks():
  np.testing.assert_allclose(theory.to_signed_labels(jnp.array([0, 1])), [-1.0, 1.0])
