"""Randomized networks: a new network is drawn at every forward pass.

Randomness comes from the Flax rng stream "noise" (`NOISE`):

    logits_fn = as_randomized_logits_fn(model, variables)   # (x, key) -> logits
    logits_fn(x, key)   # == model.apply(variables, x, rngs={"noise": key})

Given the stream, every layer below draws its noise from it; without it (e.g.
`models.as_logits_fn`, `model.init`, the per-epoch clean accuracy of
`train.fit`), each layer is its deterministic twin: zero noise, the mean
weights, the image at the centre of the padded canvas. Robustness of a
randomized model is measured with the key (`jaxrobust.eval.randomized`); the
twin is only its mean network. The train step (`jaxrobust.train.make_train_step`)
feeds the stream in training, so noise is on during training as well.

Layers: `GaussianNoise` (inputs or activations; Liu et al.'s random
self-ensemble), `BayesDense` / `BayesConv` (mean-field Gaussian weights
w = mu + sigma * noise resampled per forward pass, Blundell et al.'s Bayes by
Backprop, as in Liu et al.'s Adv-BNN; their KL term is `kl_divergence`), and
`RandomResizePad` (Xie et al.'s random resizing and padding). `RandomizedCNN`
is `SmallCNN` with any of them, with the same parameter names (a Bayesian layer
adds `kernel_rho` / `bias_rho`), so a SmallCNN's variables load into it.

References:
  Liu, Cheng, Zhang & Hsieh, "Towards Robust Neural Networks via Random
  Self-ensemble", ECCV 2018.
  Blundell, Cornebise, Kavukcuoglu & Wierstra, "Weight Uncertainty in Neural
  Networks", ICML 2015.
  Liu, Li, Wu & Hsieh, "Adv-BNN: Improved Adversarial Defense through Robust
  Bayesian Neural Network", ICLR 2019.
  Xie, Wang, Zhang, Ren & Yuille, "Mitigating Adversarial Effects Through
  Randomization", ICLR 2018.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jaxrobust import _checks
from jaxrobust.models.heads import apply_head
from jaxrobust.models.layers import Classifier, Normalize, check_images, check_structure

NOISE = "noise"  # the Flax rng stream every randomized layer draws from
RHO = "_rho"     # suffix of a Bayesian layer's std parameter: sigma = softplus(rho)

RandomizedLogitsFn = Callable[[jax.Array, jax.Array], jax.Array]


def as_randomized_logits_fn(model: nn.Module, variables: Any) -> RandomizedLogitsFn:
  """(x [batch, h, w, c] in [0, 1], key) -> logits [batch, classes]: the network drawn by key.

  The same key gives the same network (and the same per-example noise for a
  batch of the same shape); the model runs in evaluation mode. This is the
  `logits_fn(x, key)` that EOT attacks (`attacks.EOTPGD`, AutoAttack's rand
  version) and `jaxrobust.eval.randomized` take.
  """
  def logits_fn(x, key):
    _check_key(key)
    return model.apply(variables, x, train=False, rngs={NOISE: key})
  return logits_fn


def sample_logits_fn(model: nn.Module, variables: Any, key: jax.Array
                     ) -> Callable[[jax.Array], jax.Array]:
  """x -> logits of the one sample network drawn by `key` (a deterministic logits_fn)."""
  _check_key(key)
  return lambda x: model.apply(variables, x, train=False, rngs={NOISE: key})


def _check_key(key) -> None:
  if key is None or not hasattr(key, "dtype") or not (
      jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
      or (key.dtype == jnp.uint32 and key.shape[-1:] == (2,))):
    raise TypeError(f"a randomized model needs a PRNG key (jax.random.key(...)) to "
                    f"draw its network, got {key!r}.")


def _check_std(module: nn.Module, name: str) -> None:
  _checks.check_real(f"{type(module).__name__}.{name}", getattr(module, name), low=0)


class GaussianNoise(nn.Module):
  """x + std * N(0, 1), a fresh draw per element and per forward pass (stream "noise").

  The identity when std is 0 or the stream is absent (the deterministic twin).

  Attributes:
    std: standard deviation, in the units of x (pixels in [0, 1] at the input).
  """
  std: float

  def __post_init__(self):
    _check_std(self, "std")
    super().__post_init__()

  @nn.compact
  def __call__(self, x):
    if self.std == 0 or not self.has_rng(NOISE):
      return x
    return x + self.std * jax.random.normal(self.make_rng(NOISE), x.shape, x.dtype)


def _rho_init(std: float):
  """rho with softplus(rho) = std."""
  return nn.initializers.constant(math.log(math.expm1(std)))


class _Bayes(nn.Module):
  """Shared parameter handling of the mean-field Gaussian layers (each declares
  `posterior_std_init` after its own required fields: a dataclass field with a
  default cannot precede them)."""

  def __post_init__(self):
    _checks.check_real("posterior_std_init", self.posterior_std_init, low=0, low_open=True)
    check_structure(self)  # features, kernel_size
    super().__post_init__()

  def weights(self, name: str, init, shape, dtype):
    """mu + softplus(rho) * N(0, 1) (one draw for the whole batch), or mu without the stream."""
    mu = self.param(name, init, shape, dtype)
    rho = self.param(name + RHO, _rho_init(self.posterior_std_init), shape, dtype)
    if not self.has_rng(NOISE):
      return mu
    return mu + jax.nn.softplus(rho) * jax.random.normal(self.make_rng(NOISE), shape, dtype)


class BayesDense(_Bayes):
  """A dense layer with mean-field Gaussian weights and bias, resampled every forward pass.

  Parameters `kernel`, `bias` (the means, initialised as `nn.Dense`'s) and
  `kernel_rho`, `bias_rho` (sigma = softplus(rho), initialised so that sigma =
  posterior_std_init). One weight sample is shared by the whole batch: a
  forward pass is one sample network.
  """
  features: int
  posterior_std_init: float = 1e-3

  @nn.compact
  def __call__(self, x):
    shape = (x.shape[-1], self.features)
    kernel = self.weights("kernel", nn.initializers.lecun_normal(), shape, x.dtype)
    bias = self.weights("bias", nn.initializers.zeros_init(), (self.features,), x.dtype)
    return x @ kernel + bias


class BayesConv(_Bayes):
  """`nn.Conv` (SAME padding) with mean-field Gaussian kernel and bias; see `BayesDense`."""
  features: int
  kernel_size: Sequence[int] = (3, 3)
  strides: int = 1
  posterior_std_init: float = 1e-3

  @nn.compact
  def __call__(self, x):
    shape = tuple(self.kernel_size) + (x.shape[-1], self.features)
    kernel = self.weights("kernel", nn.initializers.lecun_normal(), shape, x.dtype)
    bias = self.weights("bias", nn.initializers.zeros_init(), (self.features,), x.dtype)
    y = jax.lax.conv_general_dilated(
        x, kernel, window_strides=(self.strides,) * len(self.kernel_size), padding="SAME",
        dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y + bias


class RandomResizePad(nn.Module):
  """Xie et al.'s input randomization: resize to r x r, r uniform in {h, ..., h + max_pad},
  then place at a uniform random offset on a zero canvas of (h + max_pad) x (w + max_pad).

  Drawn per example and per forward pass (stream "noise"). Resizing is
  bilinear (`jax.image.scale_and_translate`, differentiable in the image; the
  paper used nearest neighbour). Without the stream: no resize, the image
  at the centre of the canvas. max_pad = 0 is the identity.

  Attributes:
    max_pad: how many pixels the canvas adds to each spatial size.
  """
  max_pad: int = 0

  def __post_init__(self):
    _checks.check_int_at_least("max_pad", self.max_pad, 0)
    super().__post_init__()

  @nn.compact
  def __call__(self, x):
    if self.max_pad == 0:
      return x
    b, h, w, c = x.shape
    p = self.max_pad
    if not self.has_rng(NOISE):
      return jnp.pad(x, ((0, 0), (p // 2, p - p // 2), (p // 2, p - p // 2), (0, 0)))
    size_key, top_key, left_key = jax.random.split(self.make_rng(NOISE), 3)
    extra = jax.random.randint(size_key, (b,), 0, p + 1)           # r = h + extra
    top = jax.random.randint(top_key, (b,), 0, p + 1 - extra)      # room left: p - extra
    left = jax.random.randint(left_key, (b,), 0, p + 1 - extra)
    grow = extra.astype(x.dtype)

    def place(image, grow, top, left):
      scale = jnp.stack([(h + grow) / h, (w + grow) / w])
      return jax.image.scale_and_translate(
          image, (h + p, w + p, c), (0, 1), scale, jnp.stack([top, left]).astype(x.dtype),
          method="linear", antialias=False)

    return jax.vmap(place)(x, grow, top, left)


class RandomizedCNN(Classifier):
  """`SmallCNN` (strided convolutions, dense ReLU, logits) made random.

    [random resize-and-pad] -> + input noise -> normalize ->
    [conv k x k stride 2 -> ReLU -> + activation noise] * len(features) ->
    dense -> ReLU -> + activation noise -> dense -> head

  Every source of randomness is an option, all off by default (then the model
  is `SmallCNN` exactly, with its parameter names). Noise is drawn from the rng
  stream "noise": `as_randomized_logits_fn(model, variables)(x, key)`.
  Without the stream, the deterministic twin (see the module docstring).

  Attributes:
    features, kernel_size, hidden, head: as `SmallCNN`.
    input_noise: std of Gaussian noise added to the pixels (units of [0, 1]),
      before normalization (Liu et al.'s "init" noise).
    activation_noise: std of Gaussian noise added after every hidden ReLU
      (Liu et al.'s "inner" noise, before each later layer).
    bayesian: every conv and dense layer is mean-field Gaussian (`BayesConv`,
      `BayesDense`); train with `kl_divergence` (e.g. `add_kl_gradient`).
    posterior_std_init: the Bayesian layers' initial sigma.
    prior_std: std of the zero-mean Gaussian prior of `kl_divergence` (the
      model's value, kept here so the KL term and the model agree).
    resize_pad: `RandomResizePad(max_pad=resize_pad)` on the input.
  """
  features: Sequence[int] = (32, 64)
  kernel_size: int = 3
  hidden: int = 128
  head: str = "identity"
  input_noise: float = 0.0
  activation_noise: float = 0.0
  bayesian: bool = False
  posterior_std_init: float = 1e-3
  prior_std: float = 0.1
  resize_pad: int = 0

  def __post_init__(self):
    for name in ("input_noise", "activation_noise"):
      _check_std(self, name)
    _checks.check_real("prior_std", self.prior_std, low=0, low_open=True)
    _checks.check_real("posterior_std_init", self.posterior_std_init, low=0, low_open=True)
    _checks.check_int_at_least("resize_pad", self.resize_pad, 0)
    if not isinstance(self.bayesian, bool):
      raise TypeError(f"bayesian must be True or False, got {self.bayesian!r}.")
    super().__post_init__()

  @property
  def randomized(self) -> bool:
    """Whether any source of randomness is on (False: SmallCNN with the same parameters)."""
    return bool(self.input_noise or self.activation_noise or self.bayesian
                or self.resize_pad)

  def _conv(self, i: int, width: int):
    k = (self.kernel_size, self.kernel_size)
    if self.bayesian:
      return BayesConv(width, k, strides=2, posterior_std_init=self.posterior_std_init,
                       name=f"Conv_{i}")
    return nn.Conv(width, k, strides=2, padding="SAME", name=f"Conv_{i}")

  def _dense(self, i: int, width: int):
    if self.bayesian:
      return BayesDense(width, posterior_std_init=self.posterior_std_init,
                        name=f"Dense_{i}")
    return nn.Dense(width, name=f"Dense_{i}")

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train  # noise is on in both modes whenever the "noise" stream is given
    check_images(x, channels=len(self.mean))
    x = RandomResizePad(self.resize_pad)(x)
    x = GaussianNoise(self.input_noise)(x)
    x = Normalize(self.mean, self.std)(x)
    for i, width in enumerate(self.features):
      x = GaussianNoise(self.activation_noise)(nn.relu(self._conv(i, width)(x)))
    x = nn.relu(self._dense(0, self.hidden)(x.reshape(x.shape[0], -1)))
    x = GaussianNoise(self.activation_noise)(x)
    return apply_head(self.head, self._dense(1, self.num_classes)(x))


def _bayes_pairs(params: Any):
  """(mu, rho) of every Bayesian parameter in a params tree (keys `name`, `name_rho`)."""
  pairs = []

  def walk(tree):
    if not hasattr(tree, "items"):
      return
    for name, value in tree.items():
      if name.endswith(RHO) and name[:-len(RHO)] in tree:
        pairs.append((tree[name[:-len(RHO)]], value))
      else:
        walk(value)

  walk(params)
  return pairs


def kl_divergence(params: Any, prior_std: float) -> jax.Array:
  """KL(q || p) summed over the Bayesian weights: q = N(mu, softplus(rho)^2), p = N(0, prior_std^2).

  Per weight: log(prior_std / sigma) + (sigma^2 + mu^2) / (2 prior_std^2) - 1/2
  (Blundell et al. 2015; the closed form Adv-BNN uses). 0 for a tree without
  Bayesian layers. Scalar; differentiable in params.
  """
  _checks.check_real("prior_std", prior_std, low=0, low_open=True)
  total = jnp.zeros((), jnp.float32)
  for mu, rho in _bayes_pairs(params):
    sigma = jax.nn.softplus(rho)
    total += jnp.sum(jnp.log(prior_std) - jnp.log(sigma)
                     + (sigma ** 2 + mu ** 2) / (2 * prior_std ** 2) - 0.5)
  return total


def add_kl_gradient(weight: float, prior_std: float) -> optax.GradientTransformation:
  """An optax transform that adds weight * d kl_divergence(params) / d params to the updates.

  Chain it before the optimizer (`optax.chain(add_kl_gradient(1 / n, 0.1),
  optax.adam(1e-3))`): the result trains on loss + weight * KL (the ELBO with
  weight = 1 / number of training examples), as `optax.add_decayed_weights`
  trains on an L2 penalty. The defenses see only logits functions, so the
  penalty on the weights enters here.
  """
  _checks.check_real("weight", weight, low=0)
  _checks.check_real("prior_std", prior_std, low=0, low_open=True)

  def update(updates, state, params=None):
    if params is None:
      raise ValueError("add_kl_gradient needs the params: call update(grads, state, params).")
    kl_grads = jax.grad(lambda p: kl_divergence(p, prior_std))(params)
    return jax.tree.map(lambda g, k: g + weight * k, updates, kl_grads), state

  return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def deterministic_twin_params(params: Any) -> Any:
  """params without the Bayesian std parameters: the variables of the twin `SmallCNN`."""
  if not hasattr(params, "items"):
    return params
  return {k: deterministic_twin_params(v) for k, v in params.items()
          if not (k.endswith(RHO) and k[:-len(RHO)] in params)}
