"""Bad input to losses' public entries: labels out of range, of the wrong shape or dtype;
logits of the wrong rank. A clear error each."""

import jax.numpy as jnp

from jaxrobust import losses
from tests.bad_input import fuzz_test

LOGITS = jnp.array([[2.0, 0.5, -1.0, 0.0], [0.1, 0.2, 0.3, 0.4]])
Y = jnp.array([0, 3])

CASES = {
    "losses.cross_entropy:label_high": (
        lambda: losses.cross_entropy(LOGITS, jnp.array([0, 4])),
        ValueError, ["labels", "[0, 4)", "[0, 4]"]),
    "losses.cross_entropy:label_negative": (
        lambda: losses.cross_entropy(LOGITS, jnp.array([-1, 0])), ValueError, ["labels", "[0, 4)"]),
    "losses.cross_entropy:float_labels": (
        lambda: losses.cross_entropy(LOGITS, jnp.array([0.0, 1.0])),
        TypeError, ["labels", "integer"]),
    "losses.cw_margin:labels_column": (
        lambda: losses.cw_margin(LOGITS, Y[:, None]), ValueError, ["labels", "[batch]", "(2, 1)"]),
    "losses.dlr:labels_column": (
        lambda: losses.dlr(LOGITS, Y[:, None]), ValueError, ["labels", "[batch]"]),
    "losses.dlr:label_high": (
        lambda: losses.dlr(LOGITS, jnp.array([0, 9])), ValueError, ["labels", "[0, 4)"]),
    "losses.dlr_targeted:target_high": (
        lambda: losses.dlr_targeted(LOGITS, Y, jnp.array([1, 7])),
        ValueError, ["target", "[0, 4)"]),
    "losses.cross_entropy:batch_mismatch": (
        lambda: losses.cross_entropy(LOGITS, jnp.array([0, 1, 2])),
        ValueError, ["labels", "[batch] = [2]", "(3,)"]),
    "losses.cross_entropy:logits_rank": (
        lambda: losses.cross_entropy(LOGITS[0], Y[:1]), ValueError, ["logits", "[batch, classes]"]),
    "losses.kl_divergence:shape_mismatch": (
        lambda: losses.kl_divergence(LOGITS, LOGITS[:, :3]),
        ValueError, ["one shape", "(2, 4)", "(2, 3)"]),
    "losses.get_loss:name_unknown": (lambda: losses.get_loss("hinge"), ValueError,
                                     ["loss", "'hinge'", "ce"]),
}

test_bad_input_raises_a_clear_error = fuzz_test(CASES)
