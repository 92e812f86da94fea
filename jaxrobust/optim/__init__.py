"""optax transforms: sharpness-aware (SAM, ASAM, PSATT) and differentially private (DP-SGD, DP-SAT)."""

from jaxrobust.optim import stability
from jaxrobust.optim.dp import DPSATState, DPSGDState, dp_sat, dp_sgd, privatize
from jaxrobust.optim.psatt import PSATTState, psatt, psatt_clean_params
from jaxrobust.optim.sam import SAMState, asam, perturbation, sam, sam_gradient
