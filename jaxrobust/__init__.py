"""jaxrobust: adversarial robustness in JAX/Flax.

Everything that attacks or measures a model sees only a ``logits_fn``: a pure
function from inputs ``[batch, ...]`` in [0, 1] to logits ``[batch, classes]``.
"""

__version__ = "0.1.0"
