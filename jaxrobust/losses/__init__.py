"""Per-example losses ([batch] out; the caller reduces)."""

from jaxrobust.losses.classification import LOSSES, cross_entropy, get_loss
