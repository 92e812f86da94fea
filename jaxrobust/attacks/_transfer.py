"""Shared pieces of the transfer attacks (MI, DI, TI, NI, SI, VMI/VNI, PI, noise-injected).

All of them are Linf sign-step iterations that differ in where the gradient is
taken (Nesterov look-ahead, scaled or diverse copies, noisy points) and in how
it is filtered (momentum, variance tuning, translation-invariant smoothing).
Images are [batch, height, width, channels] for the spatial pieces.
"""

from __future__ import annotations

from typing import Callable, ClassVar, Optional

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrobust.attacks import _core
from jaxrobust.attacks._base import Attack, static

KERNELS = ("gaussian", "linear", "uniform")

# gradient(point [batch, ...], key or None) -> ascent gradient at point [batch, ...].
GradientFn = Callable[[jax.Array, Optional[jax.Array]], jax.Array]


def check_resize_rate(resize_rate: float) -> None:
  # Only shrinking keeps the input's shape (torchattacks' default 0.9); a rate
  # above 1 (Xie et al.'s 330/299) feeds the model a larger image, which a jit
  # program cannot mix with the unchanged one.
  if not isinstance(resize_rate, (float, int)) or not 0 < resize_rate < 1:
    raise ValueError(f"resize_rate must lie in (0, 1), got {resize_rate!r}.")


def normalize(grad: jax.Array) -> jax.Array:
  """grad / mean(|grad|) per example: the L1 normalisation of MI-FGSM up to the
  constant 1/d (as torchattacks); the floor keeps a zero gradient zero."""
  axes = tuple(range(1, grad.ndim))
  scale = jnp.mean(jnp.abs(grad), axis=axes, keepdims=True)
  return grad / jnp.maximum(scale, jnp.finfo(grad.dtype).tiny)


def _check_image(x: jax.Array, what: str) -> None:
  if x.ndim != 4:
    raise ValueError(f"{what} needs images [batch, height, width, channels]; got shape "
                     f"{tuple(x.shape)}.")


def input_diversity(key: jax.Array, x: jax.Array, resize_rate: float,
                    diversity_prob) -> jax.Array:
  """With probability diversity_prob, x resized and zero-padded back to its size.

  The convention of torchattacks' DIFGSM (one draw per batch): a width
  rnd ~ U{floor(W * resize_rate), ..., W - 1}, bilinear resize (no
  antialiasing, half-pixel centres, as torch's `interpolate`), then zero padding
  with pad_top ~ U{0, ..., H - rnd_h - 1}, pad_left likewise. Every candidate
  size is a static branch of `lax.switch`, so the transform is jit-compatible.

  Args:
    key: PRNG key.
    x: images [batch, height, width, channels].
    resize_rate: smallest relative size, in (0, 1) (static).
    diversity_prob: probability of transforming (traceable).

  Returns:
    An array of x's shape.

  References:
    Xie et al., "Improving Transferability of Adversarial Examples with Input
    Diversity", CVPR 2019.
  """
  _check_image(x, "input diversity")
  check_resize_rate(resize_rate)
  batch, height, width, channels = x.shape
  low = int(width * resize_rate)
  if low < 1:
    raise ValueError(f"resize_rate {resize_rate} shrinks width {width} to nothing.")
  size_key, top_key, left_key, coin_key = jax.random.split(key, 4)

  def resize_and_pad(size):
    # Non-square images keep their aspect ratio (torchattacks assumes square).
    size_h = max(1, round(size * height / width))

    def branch(z):
      resized = jax.image.resize(z, (batch, size_h, size, channels), "linear",
                                 antialias=False)
      top = jax.random.randint(top_key, (), 0, max(height - size_h, 1))
      left = jax.random.randint(left_key, (), 0, max(width - size, 1))
      return jax.lax.dynamic_update_slice(jnp.zeros_like(z), resized, (0, top, left, 0))
    return branch

  index = jax.random.randint(size_key, (), 0, width - low)
  transformed = jax.lax.switch(index, [resize_and_pad(s) for s in range(low, width)], x)
  apply = jax.random.uniform(coin_key) < diversity_prob
  return jnp.where(apply, transformed, x)


def smoothing_kernel(name: str, size: int, nsig: float = 3.0) -> np.ndarray:
  """The [size, size] kernel of TI (sums to 1): gaussian on [-nsig, nsig], linear or uniform."""
  _core.check_choice("kernel", name, KERNELS)
  if name == "gaussian":
    t = np.linspace(-nsig, nsig, size)
    k1 = np.exp(-0.5 * t * t)  # the normal pdf's constant cancels below
  elif name == "linear":
    k1 = 1 - np.abs(np.linspace((1 - size) / 2, (size - 1) / 2, size) / (size + 1) * 2)
  else:
    k1 = np.ones(size)
  kernel = np.outer(k1, k1)
  return (kernel / kernel.sum()).astype(np.float32)


def depthwise_conv(x: jax.Array, kernel: np.ndarray) -> jax.Array:
  """Each channel of x [batch, height, width, channels] convolved with kernel [k, k],
  'same' size with zero padding (as torch's conv2d with groups=channels)."""
  _check_image(x, "the depthwise convolution")
  channels = x.shape[-1]
  rhs = jnp.tile(jnp.asarray(kernel, x.dtype)[:, :, None, None], (1, 1, 1, channels))
  return jax.lax.conv_general_dilated(
      x, rhs, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"),
      feature_group_count=channels, precision=jax.lax.Precision.HIGHEST)


def loss_gradient(logits_fn, loss_fn, y, sign: float,
                  transform: Optional[Callable] = None) -> GradientFn:
  """gradient(z, key) = sign * d/dz sum_i loss(logits_fn(transform(key, z))_i, y_i)."""
  if transform is None:
    return lambda z, key: sign * _core.input_gradient(logits_fn, loss_fn, z, y)
  return lambda z, key: sign * _core.input_gradient(
      lambda u: logits_fn(transform(key, u)), loss_fn, z, y)


def momentum_loop(gradient: GradientFn, x: jax.Array, x_start: jax.Array, *, eps,
                  step_size, decay, steps: int, key: Optional[jax.Array] = None,
                  nesterov: bool = False,
                  neighbour_gradient: Optional[GradientFn] = None) -> jax.Array:
  """The sign-step iteration with momentum shared by the transfer attacks.

  Each step t (with g_0 = v_0 = 0):
    p = x_t + step_size * decay * g_t if nesterov else x_t   (NI-FGSM look-ahead)
    u = gradient(p) + v_t
    g_{t+1} = decay * g_t + u / mean|u|                     (MI-FGSM)
    v_{t+1} = neighbour_gradient(x_t) - gradient(p)         (variance tuning)
    x_{t+1} = clip_[0,1](x + Proj_eps(x_t + step_size * sign(g_{t+1}) - x))

  Args:
    gradient: ascent gradient at a point; its key is fold_in(key, t), split.
    x: clean inputs [batch, ...].
    x_start: the first iterate (x, or a random start).
    eps, step_size, decay: radius, step and momentum factor (traceable).
    steps: number of iterations (static).
    key: PRNG key, or None when nothing is random.
    nesterov: take the gradient at the look-ahead point.
    neighbour_gradient: mean gradient over sampled neighbours of x_t; None
      keeps v = 0 (no variance tuning).

  Returns:
    x_adv [batch, ...] inside the eps ball and [0, 1].
  """
  def step(t, state):
    x_adv, g, v = state
    grad_key = var_key = None
    if key is not None:
      grad_key, var_key = jax.random.split(jax.random.fold_in(key, t))
    point = x_adv + step_size * decay * g if nesterov else x_adv
    grad = gradient(point, grad_key)
    g = decay * g + normalize(grad + v)
    if neighbour_gradient is not None:
      v = neighbour_gradient(x_adv, var_key) - grad
    x_adv = x_adv + step_size * jnp.sign(g)
    x_adv = _core.to_ball_and_box(x, x_adv, eps, "linf")
    return x_adv, g, v

  zeros = jnp.zeros_like(x)
  return _core.step_loop(steps, step, (x_start, zeros, zeros))[0]


def start(attack, x: jax.Array, key: Optional[jax.Array]):
  """(first iterate, key for the loop): a uniform point of the Linf ball when
  `attack.random_start` (the contract has checked the key), else x."""
  if not attack.random_start:
    return x, key
  start_key, key = jax.random.split(key)
  return _core.random_start(start_key, x, attack.eps, "linf"), key


def diverse_inputs(attack) -> Callable[[jax.Array, jax.Array], jax.Array]:
  """(key, z) -> z through `input_diversity` at the attack's resize_rate and diversity_prob."""
  return lambda k, z: input_diversity(k, z, attack.resize_rate, attack.diversity_prob)


@struct.dataclass
class MomentumIterative(Attack):
  """Base of the transfer family: Linf sign steps with momentum (`momentum_loop`).

  With its own fields it is MI-FGSM; a subclass changes where the gradient is
  taken (`gradient`: a transform, scaled copies, a smoothing), adds variance
  tuning (`neighbour_gradient`) or the Nesterov look-ahead (`NESTEROV`).

  Attributes:
    eps: Linf radius (pixel units of [0, 1]).
    step_size: size of each sign step (alpha).
    decay: momentum factor mu (0: no momentum).
    steps: number of iterations (static).
    loss: per-example loss name from `jaxrobust.losses` (static).
    targeted: if True, `y` are target labels and the loss is descended (static).
    random_start: start from a uniform point of the ball (static; off in the papers).
  """
  eps: float = 8 / 255
  step_size: float = 2 / 255
  decay: float = 1.0
  steps: int = static(10)
  loss: str = static("ce")
  targeted: bool = static(False)
  random_start: bool = static(False)

  NONNEGATIVE = ("eps", "step_size", "decay")
  NESTEROV: ClassVar[bool] = False

  def gradient(self, logits_fn, loss_fn, y, sign: float) -> GradientFn:
    """The ascent gradient at a point, given its step's key."""
    return loss_gradient(logits_fn, loss_fn, y, sign)

  def neighbour_gradient(self, gradient: GradientFn, x: jax.Array) -> Optional[GradientFn]:
    """Variance tuning's mean gradient over neighbours of x_t (None: v = 0)."""
    del gradient, x
    return None

  def run(self, logits_fn, x, y, key):
    loss_fn, sign = self.loss_and_sign()
    x_start, key = start(self, x, key)
    gradient = self.gradient(logits_fn, loss_fn, y, sign)
    return momentum_loop(
        gradient, x, x_start, eps=self.eps, step_size=self.step_size, decay=self.decay,
        steps=self.steps, key=key, nesterov=self.NESTEROV,
        neighbour_gradient=self.neighbour_gradient(gradient, x))
