"""Training a domain-adaptation method on a DomainPair, on the one epoch loop.

Each step of an epoch takes a source batch (a permutation of the source
training set per epoch) and a target batch (another permutation of the target
set, wrapped when the target is smaller), the method's loss and gradient, and
updates all parameters (net and discriminator) with one optax optimizer
(`make_step`). The epochs run on the in-memory trainer (`train.fit_arrays`, one
jitted call a step: the data stay on the device, a step receives only the batch
indices; checkpointed, resumable: a killed run restarted with the same config
ends with identical parameters). Every random choice derives
from config.seed by fold_in: epoch orders by epoch, step keys by global step.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxrobust import _checks
from jaxrobust.adaptation.data import DomainPair, load_pair
from jaxrobust.adaptation.networks import AdaptationNet, Discriminator
from jaxrobust.adaptation.registry import ADAPTATION_METHODS
from jaxrobust.data.batching import epoch_permutation
from jaxrobust.train.arrays import fit_arrays
from jaxrobust.train.optimizers import make_optimizer
from jaxrobust.train.state import TrainState

# Independent streams derived from the seed (fold_in tags).
_INIT, _SOURCE_ORDER, _TARGET_ORDER, _STEP = range(4)


@dataclasses.dataclass
class AdaptationResult:
  """What `fit` returns: the trained nets, their parameters, the data and the log."""
  net: AdaptationNet
  disc: Discriminator | None
  state: TrainState
  pair: DomainPair
  history: list[dict[str, Any]]

  def logits_fn(self):
    """The DESIGN.md contract: images [batch, h, w, 1] in [0, 1] -> logits [batch, C]."""
    variables = {"params": self.state.params["net"]}
    return lambda x: self.net.apply(variables, x)

  def features(self, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """The features f [n, feature_dim] of images [n, h, w, 1]."""
    return embed(self.net, self.state.params["net"], images, batch_size)


def embed(net: AdaptationNet, net_params: Any, images: np.ndarray,
          batch_size: int = 1000) -> np.ndarray:
  """Features [n, feature_dim] of images [n, h, w, c], in batches."""
  _checks.check_image_batch("images", images)
  _checks.check_int("batch_size", batch_size, 1)
  fn = jax.jit(lambda p, x: net.apply({"params": p}, x, method=AdaptationNet.embed))
  return np.concatenate([np.asarray(fn(net_params, images[i:i + batch_size]))
                         for i in range(0, len(images), batch_size)])


def accuracy(net: AdaptationNet, net_params: Any, images: np.ndarray, labels: np.ndarray,
             batch_size: int = 1000) -> float:
  """Top-1 accuracy of the net on images [n, h, w, c] with labels [n]."""
  _checks.check_image_batch("images", images)
  _checks.check_int("batch_size", batch_size, 1)
  _checks.check_same_length(images=images, labels=labels)
  fn = jax.jit(lambda p, x: net.apply({"params": p}, x).argmax(-1))
  hits = sum(int((np.asarray(fn(net_params, images[i:i + batch_size]))
                  == labels[i:i + batch_size]).sum())
             for i in range(0, len(images), batch_size))
  return hits / len(labels)


def build(config: ml_collections.ConfigDict, pair: DomainPair):
  """(method, net, disc or None) from the config's method and model sections."""
  method = ADAPTATION_METHODS.from_config(config.method)
  m = config.model
  net = AdaptationNet(num_classes=pair.num_classes, mean=pair.mean, std=pair.std,
                      conv_features=tuple(m.conv_features), feature_dim=m.feature_dim)
  dim = method.discriminator_dim(m.feature_dim, pair.num_classes)
  return method, net, (None if dim is None else Discriminator(tuple(m.disc_hidden)))


def init_params(net, disc, method, pair: DomainPair, feature_dim: int, key: jax.Array):
  """{"net": ..., "disc": ...} ("disc" only when the method has a discriminator)."""
  shape = (1,) + pair.source_train.images.shape[1:]
  params = {"net": net.init(jax.random.fold_in(key, 0), jnp.zeros(shape))["params"]}
  if disc is not None:
    dim = method.discriminator_dim(feature_dim, pair.num_classes)
    params["disc"] = disc.init(jax.random.fold_in(key, 1), jnp.zeros((1, dim)))["params"]
  return params


def make_step(method, net, disc, tx: optax.GradientTransformation, *, total_steps: int):
  """A `train.fit_arrays` step(state, ((xs, ys), xt), key) -> (state, metrics): one update
  of all parameters on the method's loss for the source batch (xs, ys) and the target
  batch xt, with the training progress step / total_steps (for ramps)."""

  def objective(params, xs, ys, xt, progress, step_key):
    return method.loss(net, disc, params, xs, ys, xt, progress=progress, key=step_key)

  grad_fn = jax.value_and_grad(objective, has_aux=True)

  def step(state, batch, step_key):
    (xs, ys), xt = batch
    progress = state.step.astype(jnp.float32) / total_steps
    (loss, metrics), grads = grad_fn(state.params, xs, ys, xt, progress, step_key)
    return state.apply_gradients(grads, tx), {**metrics, "loss": loss,
                                              "grad_norm": optax.tree.norm(grads)}

  return step


def epoch_indices(key: jax.Array, epoch: int, n_source: int, n_target: int,
                  batch_size: int) -> tuple[np.ndarray, np.ndarray]:
  """(source [steps, batch], target [steps, batch]) example indices of `epoch`: each a
  function of (key, epoch) only, so a resumed run replays the epoch; the target
  order wraps around when the target set is smaller than the epoch's draws."""
  steps = n_source // batch_size
  order_s = epoch_permutation(jax.random.fold_in(key, _SOURCE_ORDER), epoch, n_source)
  order_t = epoch_permutation(jax.random.fold_in(key, _TARGET_ORDER), epoch, n_target)
  idx_t = order_t[np.arange(steps * batch_size) % n_target]
  return (order_s[:steps * batch_size].reshape(steps, batch_size),
          idx_t.reshape(steps, batch_size))


def _check(config: ml_collections.ConfigDict, pair: DomainPair) -> None:
  for field in ("epochs", "batch_size"):
    _checks.check_int_at_least(f"config.{field}", config[field], 1)
  n = len(pair.source_train.labels)
  if config.batch_size > n:
    raise ValueError(f"config.batch_size={config.batch_size} exceeds the {n} source "
                     "training examples.")


def fingerprint(config: ml_collections.ConfigDict) -> dict:
  """What must match for a checkpoint to be resumable (JSON-normalised)."""
  return json.loads(json.dumps({
      "source": config.source, "target": config.target, "size": config.size,
      "crop": config.get("crop", True),
      "method": config.method.to_dict(), "model": config.model.to_dict(),
      "optimizer": config.optimizer.name, "batch_size": config.batch_size,
      "seed": config.seed}))


def fit(config: ml_collections.ConfigDict, workdir: str,
        pair: DomainPair | None = None) -> AdaptationResult:
  """Trains config.method from config.source to config.target (or on `pair`), resuming
  from workdir's newest checkpoint; logs target and source test accuracy per epoch.

  Config fields: source, target, size (the common resolution), method {name,
  fields}, model {conv_features, feature_dim, disc_hidden}, optimizer (as
  `train.make_optimizer`), batch_size (per domain), epochs, seed, progress.
  """
  ADAPTATION_METHODS.from_config(config.method)  # a bad name or option fails before data loads
  _checks.check_optimizer(config.optimizer.learning_rate,
                          config.optimizer.get("weight_decay", 0.0))
  if pair is None:
    pair = load_pair(config.source, config.target, config.size, config.get("crop", True))
  _check(config, pair)
  method, net, disc = build(config, pair)
  steps_per_epoch = len(pair.source_train.labels) // config.batch_size
  total_steps = steps_per_epoch * config.epochs
  tx = make_optimizer(config.optimizer, total_steps)
  key = jax.random.key(config.seed)
  params = init_params(net, disc, method, pair, config.model.feature_dim,
                       jax.random.fold_in(key, _INIT))
  state = TrainState.create(params, tx)
  data = ((pair.source_train.images, pair.source_train.labels), pair.target_train.images)
  orders = lambda epoch: epoch_indices(key, epoch, len(pair.source_train.labels),
                                       len(pair.target_train.labels), config.batch_size)

  def evaluate(state, record, history):
    p = state.params["net"]
    return {"target_accuracy": accuracy(net, p, pair.target_test.images,
                                        pair.target_test.labels),
            "source_accuracy": accuracy(net, p, pair.source_test.images,
                                        pair.source_test.labels)}

  # One jitted call a step (scan=False) rather than a `lax.scan` over the epoch: on
  # XLA:CPU (jax 0.10) a convolution's gradient inside a while loop ran ~20x slower
  # than the same step dispatched on its own (1.1 s vs 0.05 s for this net at batch
  # 128; unrolling the scan did not help). The step key is an argument of that call,
  # not a constant, so runs that differ only in seed share one compilation.
  state, history = fit_arrays(
      make_step(method, net, disc, tx, total_steps=total_steps), state, data, key=key,
      step_key=jax.random.fold_in(key, _STEP), indices=orders, batch_size=None,
      epochs=config.epochs, workdir=workdir, fingerprint=fingerprint(config),
      evaluate=evaluate, learning_rate=config.optimizer.learning_rate,
      progress=config.progress, scan=False,
      checkpoint_extra={"config": json.loads(config.to_json())})
  return AdaptationResult(net=net, disc=disc, state=state, pair=pair, history=history)
