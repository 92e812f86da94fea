"""Per-example losses ([batch] out; the caller reduces)."""

from jaxrobust.losses.classification import (LOSSES, cross_entropy, cw_margin, dlr,
                                             dlr_targeted, get_loss, kl_divergence)
