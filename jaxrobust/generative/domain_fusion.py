"""Domain Fusion: a multi-domain conditional GAN on an outer and a small target dataset,
and the augmentation pipeline its target samples feed.

The GAN learns p(x | class, domain) on both datasets at once (domain 0 the
target, 1 the outer); its samples of domain 0 then join the few real target
images in the target classifier's batches.

  prepare_images        any images -> float [n, r, r, c] at one resolution
  few_shot_indices      a class-balanced target subset (deterministic)
  FusionData            target train / test and outer images with their labels
  training_set          the GAN's training data: one domain or both, balanced
  make_gan / train_gan  the two players, the optax pair and the resumable trainer
  generate / class_balanced_samples   domain-0 samples of given classes
  mixed_batch           a batch with an exact number of synthetic examples
  train_classifier      the target classifier on real (+ synthetic) batches

Source note: only the paper's abstract was readable here. What it fixes is
followed: one GAN trained on the outer and the target dataset simultaneously,
whose generated target samples augment the target classifier's data. The
details are the standard class-conditional GAN the paper builds on, with the
domain as a second condition: projection discriminator and spectral norm
(Miyato & Koyama 2018; Miyato et al. 2018), hinge loss; a label space shared
by the domains or laid side by side (`shared_classes`); the target given
`target_fraction` of each epoch's examples (our choice: a few hundred target
images among thousands of outer ones would otherwise be rarely seen); a
fixed, class-balanced pool of generated target images, mixed into every
classifier batch at `synthetic_fraction`.

References: Yamaguchi, Kanai & Eda, "Effective Data Augmentation with
Multi-Domain Learning GANs", AAAI 2020 (arXiv:1912.11597).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxrobust import _checks, data, defenses
from jaxrobust.generative import gan
from jaxrobust.generative.networks import ConditionalGenerator, ProjectionDiscriminator
from jaxrobust.train.state import init_state, variables
from jaxrobust.train.arrays import fit_arrays
from jaxrobust.train.step import make_train_step

TARGET, OUTER = 0, 1  # domain indices
DOMAINS = ("target", "outer")


def prepare_images(images: np.ndarray, resolution: int, channels: int) -> np.ndarray:
  """uint8 or [0, 1] float images [n, h, w, c] -> float32 [n, resolution, resolution,
  channels] in [0, 1]: bilinear resize with antialiasing; 1 -> 3 channels by
  repetition, 3 -> 1 by the luminance weights of ITU-R BT.601."""
  _checks.check_ndim("images", images, ("batch", "height", "width", "channels"))
  _checks.check_int_at_least("resolution", resolution, 1)
  _checks.check_choice("channels", channels, (1, 3))
  x = np.asarray(data.to_float(images))
  c = x.shape[-1]
  if c != channels:
    if (c, channels) == (1, 3):
      x = np.repeat(x, 3, axis=-1)
    elif (c, channels) == (3, 1):
      x = x @ np.array([[0.299], [0.587], [0.114]], np.float32)
    else:
      raise ValueError(f"cannot convert {c}-channel images to {channels} channels "
                       "(supported: 1 -> 3, 3 -> 1).")
  if x.shape[1:3] != (resolution, resolution):
    x = np.asarray(jax.image.resize(x, (len(x), resolution, resolution, channels),
                                    "linear", antialias=True))
  return np.clip(x, 0.0, 1.0).astype(np.float32)


def few_shot_indices(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
  """Indices of `per_class` examples of every class (deterministic from seed), shuffled."""
  _checks.check_int_at_least("per_class (target examples per class)", per_class, 1)
  labels = np.asarray(labels)
  if labels.size:
    _checks.check_labels("labels", labels)
    _checks.check_int("labels", int(labels.min()), 0)
  if labels.size == 0:
    raise ValueError("the target dataset is empty: no examples to draw a few-shot set from.")
  rng = np.random.default_rng(seed)
  chosen = []
  for c in np.unique(labels):
    idx = np.flatnonzero(labels == c)
    if len(idx) < per_class:
      raise ValueError(f"class {c} has {len(idx)} examples, fewer than per_class={per_class}.")
    chosen.append(rng.choice(idx, per_class, replace=False))
  return rng.permutation(np.concatenate(chosen))


@dataclasses.dataclass(frozen=True)
class FusionData:
  """Images float32 [n, r, r, c] in [0, 1] and labels int32 [n] of both domains.

  target_*: the few-shot training set; test_*: the target's test split;
  outer_*: the outer dataset, labels in its own classes. The GAN's joint class
  space is shared (outer class k is target class k) or side by side (outer
  class k is joint class target_classes + k).
  """
  target_x: np.ndarray
  target_y: np.ndarray
  test_x: np.ndarray
  test_y: np.ndarray
  outer_x: np.ndarray
  outer_y: np.ndarray
  target_classes: int
  outer_classes: int
  shared_classes: bool
  mean: tuple[float, ...]  # per-channel statistics of the target (the classifier's Normalize)
  std: tuple[float, ...]

  def __post_init__(self):
    if len(self.target_y) == 0:
      raise ValueError("the target training set is empty; Domain Fusion needs at least one "
                       "target example per class.")
    if len(self.outer_y) == 0:
      raise ValueError("the outer dataset is empty.")
    for part, classes in (("target", self.target_classes), ("test", self.target_classes),
                          ("outer", self.outer_classes)):
      x, y = getattr(self, f"{part}_x"), getattr(self, f"{part}_y")
      _checks.check_same_length(**{f"{part}_x": x, f"{part}_y": y})
      _checks.check_unit_images(f"{part}_x", x)
      # A label beyond its classes would land in the other domain's joint classes.
      _checks.check_labels(f"{part}_y", y, classes)
    if self.target_x.shape[1:] != self.outer_x.shape[1:]:
      raise ValueError(f"target and outer images differ in shape: {self.target_x.shape[1:]} "
                       f"vs {self.outer_x.shape[1:]} (prepare_images brings both to one).")
    if self.shared_classes and self.outer_classes != self.target_classes:
      raise ValueError(f"shared_classes needs equal class counts, got target "
                       f"{self.target_classes} and outer {self.outer_classes}.")

  @property
  def image_shape(self) -> tuple[int, ...]:
    return tuple(self.target_x.shape[1:])

  @property
  def num_classes(self) -> int:
    """The joint class space of the GAN's class embedding."""
    return self.target_classes if self.shared_classes else (
        self.target_classes + self.outer_classes)

  @property
  def outer_joint_labels(self) -> np.ndarray:
    return self.outer_y if self.shared_classes else self.outer_y + self.target_classes


def load_fusion_data(target: str, outer: str, *, resolution: int, per_class: int,
                     shared_classes: bool, seed: int, data_dir: str | None = None,
                     max_outer: int = 0) -> FusionData:
  """The target's few-shot train subset and test split, and the outer train split
  (its first `max_outer` examples when > 0), all at `resolution` with the target's
  channels (`jaxrobust.data.load` names: "digits", "mnist5k", TFDS "cifar100", ...)."""
  # Checked before any dataset is read.
  _checks.check_int("resolution", resolution, 1)
  _checks.check_int("per_class (target examples per class)", per_class, 1)
  _checks.check_int("seed", seed, 0)
  _checks.check_int("max_outer", max_outer, 0)
  if not isinstance(shared_classes, bool):
    raise TypeError(f"shared_classes must be True or False, got {shared_classes!r}.")
  train, test = data.load(target, "train", data_dir), data.load(target, "test", data_dir)
  out = data.load(outer, "train", data_dir)
  channels = train.info.input_shape[-1]
  idx = few_shot_indices(train.labels, per_class, seed)
  n_outer = max_outer if max_outer > 0 else len(out.labels)
  prep = functools.partial(prepare_images, resolution=resolution, channels=channels)
  return FusionData(
      target_x=prep(train.images[idx]), target_y=train.labels[idx].astype(np.int32),
      test_x=prep(test.images), test_y=test.labels.astype(np.int32),
      outer_x=prep(out.images[:n_outer]), outer_y=out.labels[:n_outer].astype(np.int32),
      target_classes=train.info.num_classes, outer_classes=out.info.num_classes,
      shared_classes=shared_classes, mean=tuple(train.info.mean), std=tuple(train.info.std))


def training_set(fusion: FusionData, *, domains: str, target_fraction: float = 0.5,
                 epoch_size: int = 0) -> dict:
  """The GAN's data {"x": [N, ...], "cond": {"labels", "domains"}} for `train.fit_arrays`.

  domains: "both" (Domain Fusion: every outer example once per epoch and the
  target repeated to `target_fraction` of the epoch), "target" (the
  target-only GAN) or "outer". An epoch_size above the natural size repeats
  the data to exactly that many examples (GANs trained on different data then
  take the same number of steps per epoch); 0 or less keeps the natural size.
  """
  if not isinstance(fusion, FusionData):
    raise TypeError(f"fusion must be a FusionData (load_fusion_data), got "
                    f"{type(fusion).__name__}.")
  _checks.check_choice("domains", domains, ("both", "target", "outer"))
  if isinstance(epoch_size, bool) or not isinstance(epoch_size, (int, np.integer)):
    raise ValueError(f"epoch_size must be an integer (<= 0: the natural size), got "
                     f"{epoch_size!r}.")
  _checks.check_number("target_fraction", target_fraction, low=0, high=1, low_open=True)
  if domains == "both" and target_fraction >= 1:
    raise ValueError("target_fraction must be < 1 with domains='both' (1 leaves no outer).")
  n_outer = len(fusion.outer_y)
  t_reps = 1
  if domains == "both":
    t_reps = max(1, int(round(target_fraction / (1 - target_fraction) * n_outer
                              / len(fusion.target_y))))
  parts = []
  if domains in ("both", "target"):
    parts.append((np.tile(fusion.target_x, (t_reps, 1, 1, 1)), np.tile(fusion.target_y, t_reps),
                  TARGET))
  if domains in ("both", "outer"):
    parts.append((fusion.outer_x, fusion.outer_joint_labels, OUTER))
  x = np.concatenate([p[0] for p in parts])
  labels = np.concatenate([p[1] for p in parts]).astype(np.int32)
  doms = np.concatenate([np.full(len(p[1]), p[2], np.int32) for p in parts])
  if epoch_size > len(labels):
    reps = -(-epoch_size // len(labels))
    x, labels, doms = (np.tile(x, (reps, 1, 1, 1))[:epoch_size],
                       np.tile(labels, reps)[:epoch_size], np.tile(doms, reps)[:epoch_size])
  return {"x": x, "cond": {"labels": labels, "domains": doms}}


@dataclasses.dataclass(frozen=True)
class GAN:
  """The two modules, their apply functions, the optax pair and the step function."""
  generator: ConditionalGenerator
  discriminator: ProjectionDiscriminator
  g_tx: optax.GradientTransformation
  d_tx: optax.GradientTransformation
  latent_dim: int
  loss: str
  # The optimizer settings (in the checkpoint fingerprint: a run resumes only with them).
  optimizer: tuple = ()

  @property
  def generator_apply(self):
    return gan.linen_apply(self.generator)

  @property
  def discriminator_apply(self):
    return gan.linen_apply(self.discriminator)

  def step_fn(self, state, batch, key):
    return gan.gan_step(state, batch, key, generator_apply=self.generator_apply,
                        discriminator_apply=self.discriminator_apply, g_tx=self.g_tx,
                        d_tx=self.d_tx, latent_dim=self.latent_dim, loss=self.loss)

  def init(self, key: jax.Array) -> gan.GANState:
    g_key, d_key = jax.random.split(key)
    b = 2
    cond = {"labels": jnp.zeros((b,), jnp.int32), "domains": jnp.zeros((b,), jnp.int32)}
    g_vars = self.generator.init(g_key, jnp.zeros((b, self.latent_dim)), cond)
    d_vars = self.discriminator.init(
        d_key, jnp.zeros((b,) + tuple(self.generator.image_shape)), cond)
    return gan.GANState.create(g_vars, d_vars, self.g_tx, self.d_tx)


def make_gan(image_shape, num_classes: int, *, num_domains: int = 2, latent_dim: int = 64,
             g_features=(64, 32), d_features=(32, 64), embed_dim: int = 32,
             spectral_norm: bool = True, loss: str = "hinge", g_learning_rate: float = 2e-4,
             d_learning_rate: float = 2e-4, b1: float = 0.5, b2: float = 0.999) -> GAN:
  """The multi-domain conditional GAN (generative.networks) with Adam for both players."""
  _checks.check_choice("GAN loss kind", loss, gan.GAN_LOSSES)
  _checks.check_int_at_least("num_classes", num_classes, 1)
  _checks.check_int_at_least("num_domains", num_domains, 1)
  _checks.check_int_at_least("latent_dim", latent_dim, 1)
  _checks.check_int("embed_dim", embed_dim, 1)
  _checks.check_widths("g_features", g_features)
  _checks.check_widths("d_features", d_features)
  for name, lr in (("g_learning_rate", g_learning_rate), ("d_learning_rate", d_learning_rate)):
    _checks.check_real(name, lr, low=0.0, low_open=True)
  for name, beta in (("b1", b1), ("b2", b2)):
    _checks.check_real(name, beta, low=0.0, high=1.0)
  return GAN(
      generator=ConditionalGenerator(tuple(image_shape), num_classes, num_domains,
                                     tuple(g_features), embed_dim),
      discriminator=ProjectionDiscriminator(num_classes, num_domains, tuple(d_features),
                                            spectral_norm),
      g_tx=optax.adam(g_learning_rate, b1=b1, b2=b2),
      d_tx=optax.adam(d_learning_rate, b1=b1, b2=b2), latent_dim=latent_dim, loss=loss,
      optimizer=(("g_learning_rate", g_learning_rate), ("d_learning_rate", d_learning_rate),
                 ("b1", b1), ("b2", b2)))


def train_gan(model: GAN, train_data: dict, *, key: jax.Array, workdir: str, epochs: int,
              batch_size: int, state: gan.GANState | None = None, progress: bool = False,
              fingerprint: dict | None = None) -> tuple[gan.GANState, list[dict]]:
  """The model's step on train_data (from `training_set`) by `train.fit_arrays`, resumable
  in workdir.

  state: where to start (default: a fresh init from fold_in(key, 0)), e.g. a GAN
  pre-trained on the outer domain for the fine-tuned baseline.
  """
  if not isinstance(model, GAN):
    raise TypeError(f"model must be a domain_fusion.GAN (make_gan), got "
                    f"{type(model).__name__}.")
  if state is None:
    state = model.init(jax.random.fold_in(key, 0))
  fp = {"generator": repr(model.generator), "discriminator": repr(model.discriminator),
              "loss": model.loss, "latent_dim": model.latent_dim,
        "optimizer": dict(model.optimizer), **(fingerprint or {})}
  order_key, step_key = jax.random.split(jax.random.fold_in(key, 1))
  return fit_arrays(model.step_fn, state, train_data, key=order_key, step_key=step_key,
                    workdir=workdir, epochs=epochs, batch_size=batch_size, fingerprint=fp,
                    progress=progress)


def generate(model: GAN, state: gan.GANState, key: jax.Array, labels, *,
             domain: int = TARGET, num_classes: int | None = None) -> jax.Array:
  """Images [n, h, w, c] of class labels [n] in `domain` (default: the target).

  num_classes: the classes `labels` may name (default: the generator's joint
  space); an unknown class or domain is a ValueError naming the valid range.
  """
  limit = model.generator.num_classes if num_classes is None else num_classes
  labels = np.asarray(labels)
  _checks.check_labels("labels (classes to generate)", labels, num_classes=limit)
  if isinstance(domain, bool) or not isinstance(domain, (int, np.integer)) or not (
      0 <= domain < model.generator.num_domains):
    raise ValueError(f"Unknown domain {domain!r}; valid domains: "
                     f"{tuple(range(model.generator.num_domains))} ({TARGET} = target, "
                     f"{OUTER} = outer).")
  cond = {"labels": jnp.asarray(labels, jnp.int32),
          "domains": jnp.full(labels.shape, domain, jnp.int32)}
  return _sample(model, state, key, cond)


@functools.partial(jax.jit, static_argnums=0)
def _sample(model: GAN, state, key, cond):
  return gan.sample(state, model.generator_apply, key, cond["labels"].shape[0],
                    model.latent_dim, cond)


def class_balanced_samples(model: GAN, state: gan.GANState, key: jax.Array, per_class: int,
                           num_classes: int, *, domain: int = TARGET
                           ) -> tuple[np.ndarray, np.ndarray]:
  """per_class generated images of each of classes 0..num_classes-1 in `domain`:
  (images float32 [per_class * num_classes, h, w, c], labels int32)."""
  _checks.check_int_at_least("per_class (generated examples per class)", per_class, 1)
  _checks.check_int("num_classes", num_classes, 1)
  labels = np.tile(np.arange(num_classes, dtype=np.int32), per_class)
  images = generate(model, state, key, labels, domain=domain, num_classes=num_classes)
  return np.asarray(images), labels


def synthetic_count(batch_size: int, synthetic_fraction: float) -> int:
  """Generated examples in a batch: round(batch_size * synthetic_fraction)."""
  _checks.check_int_at_least("batch_size", batch_size, 1)
  _checks.check_real("synthetic_fraction", synthetic_fraction, low=0)
  if not synthetic_fraction < 1:
    raise ValueError(f"synthetic_fraction must be in [0, 1) (real examples are needed in "
                     f"every batch), got {synthetic_fraction}.")
  return int(round(batch_size * synthetic_fraction))


def mixed_batch(key: jax.Array, real_x, real_y, synth_x, synth_y, batch_size: int,
                num_synthetic: int) -> tuple[jax.Array, jax.Array]:
  """A batch of batch_size - num_synthetic real and num_synthetic generated examples,
  each drawn uniformly with replacement (jit-able; the counts are static)."""
  _checks.check_int("batch_size", batch_size, 1)
  _checks.check_int("num_synthetic", num_synthetic, 0, batch_size - 1)
  _checks.check_same_length(real_x=real_x, real_y=real_y)
  _checks.check_nonempty("real_y", real_y)
  if num_synthetic:
    _checks.check_same_length(synth_x=synth_x, synth_y=synth_y)
    _checks.check_nonempty("synth_y", synth_y)
  k_real, k_synth = jax.random.split(key)
  n_real = batch_size - num_synthetic
  idx = jax.random.randint(k_real, (n_real,), 0, real_y.shape[0])
  x, y = real_x[idx], real_y[idx]
  if num_synthetic:
    jdx = jax.random.randint(k_synth, (num_synthetic,), 0, synth_y.shape[0])
    x = jnp.concatenate([x, synth_x[jdx].astype(x.dtype)])
    y = jnp.concatenate([y, synth_y[jdx].astype(y.dtype)])
  return x, y


def train_classifier(model, real_x, real_y, key: jax.Array, *, steps: int, batch_size: int,
                     tx: optax.GradientTransformation, crop_padding: int = 0,
                     flip: bool = False, synthetic: tuple[Any, Any] | None = None,
                     synthetic_fraction: float = 0.0) -> dict:
  """Trains `model` (a jaxrobust classifier) for `steps` steps of cross-entropy on
  mixed batches, all steps under one jit (`lax.scan`); returns its variables.

  real_x: float [n, h, w, c] in [0, 1]; synthetic: (images, labels) of generated
  examples, which make up round(batch_size * synthetic_fraction) of every
  batch (`mixed_batch`); standard augmentation (random crop / flip, the
  `make_train_step` options) applies to every example of a batch.
  """
  _checks.check_int_at_least("steps", steps, 1)
  n_synth = synthetic_count(batch_size, synthetic_fraction)
  if n_synth and synthetic is None:
    raise ValueError("synthetic_fraction > 0 needs synthetic=(images, labels).")
  if len(real_y) == 0:
    raise ValueError("real_x is empty: the classifier needs real target examples.")
  _checks.check_int("crop_padding", crop_padding, 0)
  _checks.check_same_length(real_x=real_x, real_y=real_y)
  _checks.check_unit_images("real_x", real_x)
  classes = getattr(model, "num_classes", None)
  _checks.check_labels("real_y", real_y, classes)
  _checks.check_int("real_y", int(np.min(real_y)), 0)
  if synthetic is not None:
    _checks.check_same_length(**{"synthetic[0]": synthetic[0], "synthetic[1]": synthetic[1]})
    _checks.check_unit_images("synthetic[0] (images)", synthetic[0])
    _checks.check_labels("synthetic[1] (labels)", synthetic[1], classes)
  synth_x, synth_y = synthetic if synthetic is not None else (real_x[:1], real_y[:1])
  init_key, data_key, step_key = jax.random.split(key, 3)
  state = init_state(model, tx, tuple(real_x.shape[1:]), init_key)
  step = make_train_step(model, defenses.Standard(), tx, crop_padding=crop_padding, flip=flip)

  @jax.jit
  def run(state, real_x, real_y, synth_x, synth_y):
    def body(state, i):
      batch = mixed_batch(jax.random.fold_in(data_key, i), real_x, real_y, synth_x, synth_y,
                          batch_size, n_synth)
      state, metrics = step(state, batch, jax.random.fold_in(step_key, i))
      return state, metrics["loss"]
    return jax.lax.scan(body, state, jnp.arange(steps))

  state, losses = run(state, jnp.asarray(real_x, jnp.float32), jnp.asarray(real_y, jnp.int32),
                      jnp.asarray(synth_x, jnp.float32), jnp.asarray(synth_y, jnp.int32))
  if not np.isfinite(np.asarray(losses[-1])):
    raise FloatingPointError("the classifier's loss is not finite at the last step.")
  return variables(state)
