"""Closed forms and numerics of adversarial losses of linear classifiers: smoothness and sharpness."""

from jaxrobust.theory.hessian import (LanczosResult, exact_hessian, hutchinson_trace,
                                      lanczos, make_hvp, power_iteration)
from jaxrobust.theory.linear import (adversarial_hinge_loss, adversarial_logistic_loss,
                                     adversarial_margin, dual_exponent, dual_norm,
                                     optimal_perturbation, steepest_unit_vector,
                                     to_signed_labels, two_class_logits_fn)
from jaxrobust.theory.sharpness import (FitResult, Sharpness, fit_adversarial_logreg,
                                        measure_sharpness, objective,
                                        overlapping_gaussians)
from jaxrobust.theory.smoothness import (gradient_descent_path,
                                         gradient_lipschitz_across,
                                         gradient_lipschitz_along_path,
                                         gradient_lipschitz_random_pairs, hessian_norm,
                                         l2_gradient_lipschitz_bound)
