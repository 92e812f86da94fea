"""Certified robustness: provable output bounds (IBP, CROWN, CROWN-IBP), certified accuracy,
and randomized smoothing (a certified L2 radius with high probability)."""

from jaxrobust.certify.bounds import (NORMS, certified, logit_bounds, margin_bounds,
                                      margin_lower, margin_specs, spec_lower)
from jaxrobust.certify.network import (Conv, Dense, Flatten, Network, ReLU, Scale, capture,
                                       network, network_of)
from jaxrobust.certify.registry import BOUND_METHODS, BoundMethod
from jaxrobust.certify.accuracy import certified_accuracy, certified_curve, certified_mask
from jaxrobust.certify.smoothing import (ABSTAIN, SmoothedCertificate, clopper_pearson,
                                         smoothed_certify, smoothed_counts, smoothed_curve,
                                         smoothed_predict)
