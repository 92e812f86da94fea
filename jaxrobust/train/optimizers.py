"""optax optimizers and learning-rate schedules from a config."""

from __future__ import annotations

import optax

from jaxrobust import _checks
from jaxrobust.optim.psatt import psatt
from jaxrobust.optim.sam import asam, sam

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "piecewise")
SHARPNESS_AWARE = ("sam", "asam", "psatt")


def make_schedule(name: str, learning_rate: float, total_steps: int,
                  warmup_steps: int = 0,
                  boundaries: tuple[float, ...] = (0.5, 0.75),
                  decay: float = 0.1) -> optax.Schedule:
  """A schedule over `total_steps`, with optional linear warm-up.

  piecewise multiplies the rate by `decay` at each fraction in `boundaries`
  (e.g. the 0.5/0.75 decay of Madry et al. and Rice et al.).
  """
  if name not in SCHEDULES:
    raise ValueError(f"Unknown schedule {name!r}; valid choices: {SCHEDULES}.")
  _checks.check_number("learning_rate", learning_rate, low=0, low_open=True)
  _checks.check_int("total_steps", total_steps, 1)
  _checks.check_int("warmup_steps", warmup_steps, 0, total_steps)
  if name == "piecewise":
    _checks.check_number("decay", decay, low=0)
    if list(boundaries) != sorted(boundaries) or any(not 0 <= b <= 1 for b in boundaries):
      raise ValueError(f"boundaries must be ascending fractions of the run in [0, 1], got "
                       f"{tuple(boundaries)}.")
  decay_steps = max(total_steps - warmup_steps, 1)
  if name == "constant":
    main = optax.constant_schedule(learning_rate)
  elif name == "cosine":
    main = optax.cosine_decay_schedule(learning_rate, decay_steps)
  else:
    main = optax.piecewise_constant_schedule(
        learning_rate, {int(b * decay_steps): decay for b in boundaries})
  if warmup_steps <= 0:
    return main
  warmup = optax.linear_schedule(0.0, learning_rate, warmup_steps)
  return optax.join_schedules([warmup, main], [warmup_steps])


def make_optimizer(config, total_steps: int) -> optax.GradientTransformation:
  """optax optimizer from config fields: name, learning_rate, schedule,
  warmup_steps, weight_decay, momentum (sgd), nesterov (sgd), and an optional
  `sam` block {rho, kind ("sam", "asam", "psatt"), eta (asam), period and
  direction (psatt: "update" or "gradient")}
  that wraps the result in a sharpness-aware transform (rho = 0 or no block:
  the base optimizer unchanged)."""
  name = config.name
  if name not in OPTIMIZERS:
    raise ValueError(f"Unknown optimizer {name!r}; valid choices: {OPTIMIZERS}.")
  lr = make_schedule(config.schedule, config.learning_rate, total_steps,
                     config.get("warmup_steps", 0))
  wd = config.get("weight_decay", 0.0)
  _checks.check_number("weight_decay", wd, low=0)  # NaN too
  if name == "adamw":
    return _sharpness_aware(optax.adamw(lr, weight_decay=wd), config.get("sam"))
  if name == "adam":
    base = optax.adam(lr)
  else:
    base = optax.sgd(lr, momentum=config.get("momentum", 0.9) or None,
                     nesterov=config.get("nesterov", False))
  # L2 weight decay coupled to the gradient, as torch.optim.SGD/Adam do it.
  base = optax.chain(optax.add_decayed_weights(wd), base) if wd else base
  return _sharpness_aware(base, config.get("sam"))


def _sharpness_aware(base: optax.GradientTransformation, sam_config
                     ) -> optax.GradientTransformation:
  """base wrapped in sam/asam/psatt per the config's `sam` block, if rho > 0."""
  if sam_config is None:
    return base
  kind, rho = sam_config.get("kind", "sam"), float(sam_config.get("rho", 0.0))
  if kind not in SHARPNESS_AWARE:
    raise ValueError(f"Unknown optimizer.sam.kind {kind!r}; valid choices: "
                     f"{SHARPNESS_AWARE}.")
  _checks.check_number("optimizer.sam.rho", rho, low=0)  # NaN too
  if rho == 0:
    return base
  if kind == "sam":
    return sam(base, rho)
  if kind == "asam":
    return asam(base, rho, eta=sam_config.get("eta", 0.01))
  return psatt(base, rho, period=sam_config.get("period", 1),
               direction=sam_config.get("direction", "update"))
