"""A small GAN core: losses, a two-player state, one update per player, a step.

Two players, each a pure apply function plus optax:

    generator_apply(variables, z, cond, train) -> (x_fake, collection_updates)
    discriminator_apply(variables, x, cond, train) -> (logits, collection_updates)

`cond` is any pytree of per-example conditioning (labels, domains, masks) or
None; `collection_updates` holds the new values of the mutable collections
(e.g. {"batch_stats": ...}), {} when there are none. `linen_apply(module)`
turns a Flax Linen module whose `__call__(x, [cond,] train)` into one.

Spectral normalisation (Miyato et al., 2018) is flax's `nn.SpectralNorm`:
wrap a layer, `nn.SpectralNorm(nn.Dense(k))(h, update_stats=train)`. Its power-
iteration vector `u` and `sigma` live in the "batch_stats" collection, which
`GANState.create` keeps in `d_state` (`g_state` for the generator) and the
discriminator update carries forward; the generator update calls the
discriminator with train=False, so the power iteration runs from the stored
`u` without changing it.

Each step returns metrics with "loss" (the two players' losses summed) and
"grad_norm" (the norm of both gradients), the two fields the epoch driver
watches for divergence: a step trains on the in-memory trainer as it is
(`train.fit_arrays(step, state, {"x": images, "cond": labels}, ...)`, resumable),
or `run_steps` (uniform minibatches, one jit, no checkpoints).

References: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014
(non-saturating loss); Lim & Ye, "Geometric GAN", 2017, and Miyato et al.,
"Spectral Normalization for GANs", ICLR 2018 (hinge loss, spectral norm);
Mao et al., "Least Squares GANs", ICCV 2017; Mescheder et al., "Which Training
Methods for GANs do actually Converge?", ICML 2018 (R1 penalty).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxrobust import _checks
from jaxrobust.train.state import optax_update

GAN_LOSSES = ("non_saturating", "hinge", "least_squares")

ApplyFn = Callable[[Mapping[str, Any], jax.Array, Any, bool], tuple[jax.Array, dict]]
# step_fn(state, batch, key) -> (state, metrics with "loss" and "grad_norm").
StepFn = Callable[[Any, Any, jax.Array], tuple[Any, dict]]


def discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array,
                       kind: str = "non_saturating") -> jax.Array:
  """The discriminator's loss (scalar): mean over real plus mean over fake logits.

  real_logits, fake_logits: D's raw scores, any shapes ([B] or [B, 1] ...);
  large means "real". non_saturating: -log sigmoid(r) - log(1 - sigmoid(f));
  hinge: relu(1 - r) + relu(1 + f); least_squares: ((r - 1)^2 + f^2) / 2.
  """
  _checks.check_choice("GAN loss kind", kind, GAN_LOSSES)
  if kind == "non_saturating":
    real, fake = jax.nn.softplus(-real_logits), jax.nn.softplus(fake_logits)
  elif kind == "hinge":
    real, fake = jax.nn.relu(1.0 - real_logits), jax.nn.relu(1.0 + fake_logits)
  else:
    real, fake = 0.5 * jnp.square(real_logits - 1.0), 0.5 * jnp.square(fake_logits)
  return jnp.mean(real) + jnp.mean(fake)


def generator_loss(fake_logits: jax.Array, kind: str = "non_saturating") -> jax.Array:
  """The generator's loss (scalar) on D's logits of its samples.

  non_saturating: -log sigmoid(f) (Goodfellow et al.'s -log D(G(z)), which keeps
  gradients when D wins); hinge: -f; least_squares: (f - 1)^2 / 2.
  """
  _checks.check_choice("GAN loss kind", kind, GAN_LOSSES)
  if kind == "non_saturating":
    return jnp.mean(jax.nn.softplus(-fake_logits))
  if kind == "hinge":
    return -jnp.mean(fake_logits)
  return jnp.mean(0.5 * jnp.square(fake_logits - 1.0))


def linen_apply(module: nn.Module) -> ApplyFn:
  """module.apply as a player's apply function.

  The module is called as module(x, cond, train=train), or module(x,
  train=train) when cond is None. When train is True every non-"params"
  collection of `variables` is mutable and its new value returned (BatchNorm
  statistics, spectral-norm `u`/`sigma`); when False nothing changes.
  """
  if not isinstance(module, nn.Module):
    raise TypeError(f"module must be a flax.linen Module, got {type(module).__name__}.")

  def apply(variables, x, cond, train):
    args = (x,) if cond is None else (x, cond)
    mutable = [k for k in variables if k != "params"] if train else False
    if not mutable:
      return module.apply(variables, *args, train=train), {}
    out, updates = module.apply(variables, *args, train=train, mutable=mutable)
    return out, dict(updates)
  return apply


@struct.dataclass
class GANState:
  """Both players' parameters, mutable collections and optax states, and the step.

  g_state / d_state: the non-"params" collections ({"batch_stats": ...} for
  BatchNorm or spectral norm; {} without). The optax transformations are not
  part of the state: the step functions take them (as `TrainState` does).
  """
  step: jax.Array
  g_params: Any
  g_state: Any
  g_opt_state: Any
  d_params: Any
  d_state: Any
  d_opt_state: Any

  @classmethod
  def create(cls, g_variables: Mapping[str, Any], d_variables: Mapping[str, Any],
             g_tx: optax.GradientTransformation,
             d_tx: optax.GradientTransformation) -> "GANState":
    """The state at step 0 from the players' initialised variables (module.init)."""
    for name, v in (("g_variables", g_variables), ("d_variables", d_variables)):
      if "params" not in v:
        raise ValueError(f"{name} must be a Flax variables dict with a 'params' "
                         f"collection, got collections {tuple(v)}.")
    split = lambda v: (v["params"], {k: c for k, c in v.items() if k != "params"})
    g_params, g_state = split(g_variables)
    d_params, d_state = split(d_variables)
    return cls(step=jnp.zeros((), jnp.int32), g_params=g_params, g_state=g_state,
               g_opt_state=g_tx.init(g_params), d_params=d_params, d_state=d_state,
               d_opt_state=d_tx.init(d_params))

  @property
  def g_variables(self) -> dict[str, Any]:
    return {"params": self.g_params, **self.g_state}

  @property
  def d_variables(self) -> dict[str, Any]:
    return {"params": self.d_params, **self.d_state}


def _update(params, opt_state, tx, loss_fn):
  """One optax step on loss_fn(params) -> (loss, (collections, aux))."""
  (loss, (collections, aux)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
  params, opt_state = optax_update(tx, grads, opt_state, params)
  return params, opt_state, collections, loss, optax.tree.norm(grads), aux


def _check_update(state, loss_fn, tx, tx_name: str) -> None:
  if not isinstance(state, GANState):
    raise TypeError(f"state must be a GANState (GANState.create), got {type(state).__name__}.")
  if not callable(loss_fn):
    raise TypeError(f"loss_fn must be callable params -> (loss, (collections, aux)), got "
                    f"{loss_fn!r}.")
  if not isinstance(tx, optax.GradientTransformation):
    raise TypeError(f"{tx_name} must be an optax.GradientTransformation, got "
                    f"{type(tx).__name__}.")


def discriminator_update(state: GANState, loss_fn: Callable, d_tx: optax.GradientTransformation
                         ) -> tuple[GANState, dict]:
  """One optax step of the discriminator.

  loss_fn(d_params) -> (loss, (new d_state, aux metrics dict)). Returns the
  state (step unchanged) and {"d_loss", "d_grad_norm", **aux}.
  """
  _check_update(state, loss_fn, d_tx, "d_tx")
  params, opt_state, collections, loss, norm, aux = _update(
      state.d_params, state.d_opt_state, d_tx, loss_fn)
  state = state.replace(d_params=params, d_opt_state=opt_state, d_state=collections)
  return state, {"d_loss": loss, "d_grad_norm": norm, **aux}


def generator_update(state: GANState, loss_fn: Callable, g_tx: optax.GradientTransformation
                     ) -> tuple[GANState, dict]:
  """One optax step of the generator; loss_fn(g_params) -> (loss, (new g_state, aux)).
  Returns the state (step unchanged) and {"g_loss", "g_grad_norm", **aux}."""
  _check_update(state, loss_fn, g_tx, "g_tx")
  params, opt_state, collections, loss, norm, aux = _update(
      state.g_params, state.g_opt_state, g_tx, loss_fn)
  state = state.replace(g_params=params, g_opt_state=opt_state, g_state=collections)
  return state, {"g_loss": loss, "g_grad_norm": norm, **aux}


def finish_step(state: GANState, metrics: dict) -> tuple[GANState, dict]:
  """Advances the step and adds "loss" and "grad_norm" (what the driver watches)."""
  need = ("d_loss", "g_loss", "d_grad_norm", "g_grad_norm")
  if not isinstance(metrics, Mapping) or any(k not in metrics for k in need):
    have = tuple(metrics) if isinstance(metrics, Mapping) else type(metrics).__name__
    raise ValueError(f"metrics must hold {need} (the two updates' metrics merged), got {have}.")
  if not hasattr(state, "step") or not hasattr(state, "replace"):
    raise TypeError(f"state must be a GANState, got {type(state).__name__}.")
  metrics = dict(metrics)
  metrics["loss"] = metrics["d_loss"] + metrics["g_loss"]
  metrics["grad_norm"] = jnp.sqrt(jnp.square(metrics["d_grad_norm"])
                                  + jnp.square(metrics["g_grad_norm"]))
  return state.replace(step=state.step + 1), metrics


def _concat(a, b):
  return None if a is None else jax.tree.map(lambda u, v: jnp.concatenate([u, v]), a, b)


def gan_step(state: GANState, batch: Mapping[str, Any], key: jax.Array, *,
             generator_apply: ApplyFn, discriminator_apply: ApplyFn,
             g_tx: optax.GradientTransformation, d_tx: optax.GradientTransformation,
             latent_dim: int, loss: str = "non_saturating", r1_weight: float = 0.0
             ) -> tuple[GANState, dict]:
  """One discriminator update, then one generator update (jit-able; pure).

  batch: {"x": real [B, ...], "cond": pytree [B, ...] or absent, "fake_cond":
  the generator's conditioning, default the real batch's}. z ~ N(0, I) of
  [B, latent_dim] from `key`; the generator update draws fresh z. Real and
  fake go through D in one call (one spectral-norm power iteration per step).
  r1_weight: gamma of the R1 penalty gamma / 2 * E||grad_x D(x_real)||^2
  (0 turns it off). Returns (state, {"d_loss", "g_loss", "loss", ...}).
  """
  _checks.check_choice("GAN loss kind", loss, GAN_LOSSES)
  _checks.check_int("latent_dim", latent_dim, 1)
  _checks.check_real("r1_weight", r1_weight, low=0.0)
  if not isinstance(batch, Mapping) or "x" not in batch:
    raise ValueError(f"batch must be a dict with the real examples under 'x' (and optional "
                     f"'cond', 'fake_cond'), got {type(batch).__name__} "
                     f"{tuple(batch) if isinstance(batch, Mapping) else ''}.")
  _checks.check_nonempty("batch['x']", batch["x"])
  x, cond = batch["x"], batch.get("cond")
  fake_cond = batch.get("fake_cond", cond)
  b = x.shape[0]
  key_d, key_g = jax.random.split(key)

  def d_loss_fn(d_params):
    z = jax.random.normal(key_d, (b, latent_dim), x.dtype)
    fake, _ = generator_apply(state.g_variables, z, fake_cond, False)
    fake = jax.lax.stop_gradient(fake)
    logits, d_updates = discriminator_apply(
        {"params": d_params, **state.d_state}, jnp.concatenate([x, fake]),
        _concat(cond, fake_cond), True)
    value = discriminator_loss(logits[:b], logits[b:], loss)
    aux = {"d_real": jnp.mean(logits[:b]), "d_fake": jnp.mean(logits[b:])}
    if r1_weight:
      d_real = lambda xr: jnp.sum(discriminator_apply(
          {"params": d_params, **state.d_state}, xr, cond, False)[0])
      grad_x = jax.grad(d_real)(x)
      r1 = jnp.mean(jnp.sum(jnp.square(grad_x.reshape(b, -1)), axis=1))
      value = value + 0.5 * r1_weight * r1
      aux["r1"] = r1
    return value, ({**state.d_state, **d_updates}, aux)

  state, d_metrics = discriminator_update(state, d_loss_fn, d_tx)

  def g_loss_fn(g_params):
    z = jax.random.normal(key_g, (b, latent_dim), x.dtype)
    fake, g_updates = generator_apply({"params": g_params, **state.g_state}, z, fake_cond,
                                      True)
    logits, _ = discriminator_apply(state.d_variables, fake, fake_cond, False)
    return generator_loss(logits, loss), ({**state.g_state, **g_updates}, {})

  state, g_metrics = generator_update(state, g_loss_fn, g_tx)
  return finish_step(state, {**d_metrics, **g_metrics})


def sample(state: GANState, generator_apply: ApplyFn, key: jax.Array, num: int,
           latent_dim: int, cond: Any = None) -> jax.Array:
  """num generator samples [num, ...] (eval mode), conditioned on `cond` [num, ...]."""
  _checks.check_int("num", num, 1)
  _checks.check_int("latent_dim", latent_dim, 1)
  z = jax.random.normal(key, (num, latent_dim))
  return generator_apply(state.g_variables, z, cond, False)[0]


def _check_data(data: Any, batch_size: int) -> int:
  n = _checks.leading_size("data", data)
  _checks.check_int_at_least("batch_size", batch_size, 1)
  if batch_size > n:
    raise ValueError(f"batch_size={batch_size} exceeds the {n} examples.")
  return n


def run_steps(state: Any, data: Any, key: jax.Array, *, step_fn: StepFn, num_steps: int,
              batch_size: int) -> tuple[Any, dict]:
  """num_steps of step_fn under one jit (`lax.scan`), no checkpoints.

  Each step draws a batch of `batch_size` examples uniformly without
  replacement from `data` (a pytree of arrays [N, ...] on device), as GAIN's
  iterations do; step s (the state's own counter) uses fold_in(key, s) for
  its batch and its randomness, so two calls of k steps equal one of 2k.
  Returns (state, metrics stacked over steps [num_steps]).
  """
  _check_data(data, batch_size)
  _checks.check_int("num_steps", num_steps, 1)
  if not callable(step_fn):
    raise TypeError(f"step_fn must be callable (state, batch, key) -> (state, metrics), got "
                    f"{step_fn!r}.")
  return _run_steps(state, data, key, step_fn=step_fn, num_steps=num_steps,
                    batch_size=batch_size)


@functools.partial(jax.jit, static_argnames=("step_fn", "num_steps", "batch_size"))
def _run_steps(state, data, key, *, step_fn, num_steps, batch_size):
  n = jax.tree.leaves(data)[0].shape[0]

  def body(state, _):
    k = jax.random.fold_in(key, state.step)
    k_batch, k_step = jax.random.split(k)
    idx = jax.random.choice(k_batch, n, (batch_size,), replace=False)
    return step_fn(state, jax.tree.map(lambda a: a[idx], data), k_step)

  return jax.lax.scan(body, state, None, length=num_steps)
