"""The generative models' networks: the imputers' MLP and Domain Fusion's two players.

  ImputerMLP                [b, in] -> [b, out]: GAIN's generator and discriminator, the
                            cycle imputer's masker (Xavier init, as in Yoon et al.'s code)

Domain Fusion's multi-domain conditional GAN (class and domain):

Both take the conditioning as one pytree, cond = {"labels": int [b], "domains":
int [b]}, and are called as module(x, cond, train=...) so that
`jaxrobust.generative.gan.linen_apply` turns them into GAN players.

  ConditionalGenerator      z [b, latent] -> images [b, h, w, c] in [0, 1]
  ProjectionDiscriminator   images [b, h, w, c] -> logits [b] ("real" is large)

The generator conditions every layer on the class and domain embeddings by a
conditional affine map after a statistics-free normalization (GroupNorm), the
stateless cousin of the conditional BatchNorm of SNGAN/BigGAN; the
discriminator is the projection discriminator with one projection per
condition and spectral normalization on its convolutions and output layer.

References: Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018;
Miyato et al., "Spectral Normalization for GANs", ICLR 2018; Yamaguchi, Kanai
& Eda, "Effective Data Augmentation with Multi-Domain Learning GANs", AAAI
2020 (arXiv:1912.11597), whose multi-domain GAN conditions on the domain as
well as on the class.
"""

from __future__ import annotations

import functools
from typing import Mapping, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxrobust import _checks


class ImputerMLP(nn.Module):
  """[B, in] -> logits [B, out]: ReLU hidden layers of `features` widths, Xavier init.

  Unlike `jaxrobust.models.MLP` (a classifier that normalises its input), it reads the
  imputers' [0, 1]-scaled columns as they are.
  """
  features: tuple[int, ...]
  out: int

  @nn.compact
  def __call__(self, x, train: bool = False):
    init = nn.initializers.xavier_normal()
    for width in self.features:
      x = nn.relu(nn.Dense(width, kernel_init=init)(x))
    return nn.Dense(self.out, kernel_init=init)(x)


def _groups(channels: int) -> int:
  """The largest of 8, 4, 2, 1 that divides `channels` (GroupNorm's group count)."""
  return next(g for g in (8, 4, 2, 1) if channels % g == 0)


class _ConditionalAffine(nn.Module):
  """GroupNorm without its own scale/shift, then (1 + gamma(e)) * h + beta(e).

  Starts as the identity map of the normalized features (zero-initialized
  gamma and beta), as conditional BatchNorm starts at scale 1 and shift 0.
  """

  @nn.compact
  def __call__(self, h, embedding):
    c = h.shape[-1]
    h = nn.GroupNorm(num_groups=_groups(c), use_scale=False, use_bias=False)(h)
    gamma, beta = jnp.split(nn.Dense(2 * c, kernel_init=nn.initializers.zeros)(embedding), 2,
                            axis=-1)
    return h * (1.0 + gamma[:, None, None, :]) + beta[:, None, None, :]


def _check_cond(cond, batch: int, num_classes: int, num_domains: int
                ) -> tuple[jax.Array, jax.Array]:
  if not isinstance(cond, Mapping) or set(cond) != {"labels", "domains"}:
    raise ValueError("cond must be a dict with exactly the keys 'labels' and 'domains' "
                     f"(int arrays [batch]), got {cond!r}.")
  # nn.Embed clamps an out-of-range index: a class 12 of 10 would embed as class 9.
  for name, limit in (("labels", num_classes), ("domains", num_domains)):
    _checks.check_labels(f"cond[{name!r}]", cond[name], limit, batch=batch)
  return cond["labels"], cond["domains"]


class ConditionalGenerator(nn.Module):
  """z [b, latent] and cond {"labels", "domains"} -> images [b, h, w, c] in [0, 1].

  Dense to [h / 2^k, w / 2^k, features[0]], then k = len(features) blocks of
  (conditional affine, ReLU, 4x4 transposed convolution of stride 2 to
  features[i] channels), then conditional affine, ReLU, a 3x3 convolution to
  the image's channels and a sigmoid.

  Attributes:
    image_shape: (h, w, c); h and w divisible by 2^len(features).
    num_classes: class embeddings (the joint class space of all domains).
    num_domains: domain embeddings.
    features: channels after each upsampling block.
    embed_dim: width of each of the class and domain embeddings.
  """
  image_shape: Sequence[int]
  num_classes: int
  num_domains: int = 2
  features: Sequence[int] = (64, 32)
  embed_dim: int = 32

  @nn.compact
  def __call__(self, z, cond, train: bool = False):
    del train  # no batch statistics: the generator behaves the same in both modes
    _checks.check_int("num_classes", self.num_classes, 1)
    _checks.check_int("num_domains", self.num_domains, 1)
    _checks.check_widths("features", self.features)
    _checks.check_int("embed_dim", self.embed_dim, 1)
    if len(self.image_shape) != 3:
      raise ValueError(f"image_shape must be (height, width, channels), got "
                       f"{tuple(self.image_shape)}.")
    h, w, c = self.image_shape
    scale = 2 ** len(self.features)
    if h % scale or w % scale:
      raise ValueError(f"image_shape {tuple(self.image_shape)}: height and width must be "
                       f"divisible by 2^len(features) = {scale}.")
    labels, domains = _check_cond(cond, z.shape[0], self.num_classes, self.num_domains)
    e = jnp.concatenate([nn.Embed(self.num_classes, self.embed_dim)(labels),
                         nn.Embed(self.num_domains, self.embed_dim)(domains)], axis=-1)
    x = nn.Dense((h // scale) * (w // scale) * self.features[0])(jnp.concatenate([z, e], -1))
    x = x.reshape(z.shape[0], h // scale, w // scale, self.features[0])
    for width in self.features:
      x = nn.relu(_ConditionalAffine()(x, e))
      x = nn.ConvTranspose(width, (4, 4), strides=(2, 2), padding="SAME")(x)
    x = nn.relu(_ConditionalAffine()(x, e))
    return nn.sigmoid(nn.Conv(c, (3, 3), padding="SAME")(x))


class ProjectionDiscriminator(nn.Module):
  """images [b, h, w, c] in [0, 1] and cond -> logits [b].

  phi(x): [4x4 convolution of stride 2, leaky ReLU 0.2] per entry of features,
  summed over space; D(x, y, d) = psi(phi) + <E_y[y], phi> + <E_d[d], phi>
  (Miyato & Koyama's projection, one inner product per condition).
  Spectral normalization (flax `nn.SpectralNorm`, power-iteration state in
  "batch_stats", updated only when train=True) on the convolutions and psi.

  Attributes:
    num_classes, num_domains: embedding rows of the two projections.
    features: channels of each convolution.
    spectral_norm: wrap the convolutions and psi in spectral normalization.
  """
  num_classes: int
  num_domains: int = 2
  features: Sequence[int] = (32, 64)
  spectral_norm: bool = True

  @nn.compact
  def __call__(self, x, cond, train: bool = False):
    _checks.check_int("num_classes", self.num_classes, 1)
    _checks.check_int("num_domains", self.num_domains, 1)
    _checks.check_widths("features", self.features)
    _checks.check_ndim("x", x, ("batch", "height", "width", "channels"))
    labels, domains = _check_cond(cond, x.shape[0], self.num_classes, self.num_domains)

    def layer(module, h):
      if self.spectral_norm:
        return nn.SpectralNorm(module)(h, update_stats=train)
      return module(h)

    # Centred inputs: the discriminator sees [-1, 1] like the usual GAN setups.
    h = 2.0 * x - 1.0
    for width in self.features:
      h = nn.leaky_relu(layer(nn.Conv(width, (4, 4), strides=(2, 2), padding="SAME"), h), 0.2)
    phi = jnp.sum(h, axis=(1, 2))
    out = layer(nn.Dense(1), phi)[:, 0]
    embed = functools.partial(nn.Embed, features=phi.shape[-1],
                              embedding_init=nn.initializers.xavier_uniform())
    out += jnp.sum(embed(self.num_classes)(labels) * phi, axis=-1)
    out += jnp.sum(embed(self.num_domains)(domains) * phi, axis=-1)
    return out
