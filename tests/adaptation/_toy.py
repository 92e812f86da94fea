"""A tiny synthetic domain pair: 3 classes of 8x8 blob images; the target is the source
drawn brighter and shifted by one pixel (a covariate shift a net can adapt to)."""

import numpy as np

from jaxrobust.adaptation import AdaptationNet, Discriminator, Domain, make_pair


def toy_domain(name: str, n: int, seed: int, shift: bool) -> Domain:
  rng = np.random.default_rng(seed)
  labels = np.arange(n, dtype=np.int32) % 3
  images = np.zeros((n, 8, 8, 1), np.float32)
  for i, y in enumerate(labels):
    r, c = (1, 1) if y == 0 else (1, 5) if y == 1 else (5, 3)
    images[i, r:r + 2, c:c + 2, 0] = 0.6
  images += 0.1 * rng.random(images.shape, dtype=np.float32)
  if shift:
    images = np.roll(images, 1, axis=2) * 1.4
  return Domain(name, np.clip(images, 0, 1), labels)


def toy_pair(n: int = 48):
  return make_pair(toy_domain("toy_s", n, 0, False), toy_domain("toy_t", n, 1, True),
                   toy_domain("toy_s", 24, 2, False), toy_domain("toy_t", 24, 3, True))


def toy_nets(pair):
  net = AdaptationNet(num_classes=pair.num_classes, mean=pair.mean, std=pair.std,
                      conv_features=(4,), feature_dim=8)
  return net, Discriminator((8,))
