"""Bad input at every public entry of jaxrobust.generative: a clear error naming the argument.

CASES keys are "generative.<entry>:<what is bad>"; each value is (call, error type, words the
message must contain). Nothing here trains: every call fails at its boundary checks.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrobust import generative as gen
from jaxrobust.generative import domain_fusion as df
from tests.bad_input import assert_clear_error

NAN = float("nan")
KEY = jax.random.key(0)
X = np.arange(12.0).reshape(6, 2) / 12.0
INCOMPLETE = np.where(np.eye(6, 2, dtype=bool), np.nan, X)
MASK = np.eye(6, 2, dtype=bool)
SHAPE = (8, 8, 1)
COND = {"labels": jnp.zeros(2, jnp.int32), "domains": jnp.zeros(2, jnp.int32)}


def _fusion(**fields):
  x, y = np.zeros((4, *SHAPE), np.float32), np.array([0, 1, 0, 1], np.int32)
  args = dict(target_x=x, target_y=y, test_x=x, test_y=y, outer_x=x, outer_y=y,
              target_classes=2, outer_classes=2, shared_classes=True, mean=(0.5,), std=(0.25,))
  return df.FusionData(**{**args, **fields})


def _gan():
  return df.make_gan(SHAPE, 2, latent_dim=4, g_features=(4,), d_features=(4,), embed_dim=4)


def _state():
  g = nn.Dense(2)
  v = g.init(KEY, jnp.zeros((1, 2)))
  return gen.GANState.create(v, v, optax.sgd(0.1), optax.sgd(0.1)), gen.linen_apply(g)


def _gan_step(**overrides):
  state, apply = _state()
  kwargs = dict(generator_apply=apply, discriminator_apply=apply, g_tx=optax.sgd(0.1),
                d_tx=optax.sgd(0.1), latent_dim=2)
  batch = overrides.pop("batch", {"x": jnp.zeros((4, 2))})
  kwargs.update(overrides)
  return lambda: gen.gan_step(state, batch, KEY, **kwargs)


def _run_steps(**overrides):
  state, _ = _state()
  kwargs = dict(step_fn=lambda s, b, k: (s, {}), num_steps=2, batch_size=2)
  kwargs.update(overrides)
  return lambda: gen.run_steps(state, {"x": jnp.zeros((4, 2))}, KEY, **kwargs)


def _generator(**fields):
  module = gen.ConditionalGenerator(**{"image_shape": SHAPE, "num_classes": 2,
                                       "features": (4,), "embed_dim": 4, **fields})
  return lambda: module.init(KEY, jnp.zeros((2, 3)), COND)


def _discriminator(cond=COND, **fields):
  module = gen.ProjectionDiscriminator(**{"num_classes": 2, "features": (4,), **fields})
  return lambda: module.init(KEY, jnp.zeros((2, *SHAPE)), cond)


CASES = {
    # missingness
    "generative.missing_mask:nan_x": (lambda: gen.missing_mask(INCOMPLETE, 0.2, "mcar", key=KEY),
                                      ValueError, ["x", "NaN"]),
    "generative.missing_mask:rate_one": (lambda: gen.missing_mask(X, 1.0, "mcar", key=KEY),
                                         ValueError, ["rate", "[0, 1)", "1.0"]),
    "generative.missing_mask:unknown_mechanism": (
        lambda: gen.missing_mask(X, 0.2, "mnar", key=KEY), ValueError, ["mechanism", "mcar"]),
    "generative.missing_mask:int_key": (lambda: gen.missing_mask(X, 0.2, "mcar", key=3),
                                        TypeError, ["key", "jax.random.key"]),
    "generative.missing_mask:obs_fraction_negative": (
        lambda: gen.missing_mask(X, 0.2, "mar", key=KEY, obs_fraction=-0.5), ValueError,
        ["obs_fraction", ">= 0.0"]),
    "generative.with_nans:nan_mask": (
        lambda: gen.with_nans(X, np.where(MASK, np.nan, 0.0)), ValueError,
        ["missing", "0 and 1", "nan"]),
    "generative.with_nans:probability_mask": (
        lambda: gen.with_nans(X, np.full(X.shape, 0.3)), ValueError,
        ["missing", "0 and 1", "0.3"]),
    "generative.with_nans:mask_shape": (lambda: gen.with_nans(X, MASK[:3]), ValueError,
                                        ["missing", "shape", "(6, 2)"]),
    "generative.check_incomplete:inf": (
        lambda: gen.check_incomplete(np.where(MASK, np.inf, X)), ValueError, ["infinite"]),
    "generative.check_incomplete:column_all_missing": (
        lambda: gen.check_incomplete(np.where(np.arange(2) == 0, np.nan, X)), ValueError,
        ["column", "[0]", "entirely missing"]),
    "generative.check_incomplete:int_dtype": (
        lambda: gen.check_incomplete(np.ones((3, 2), int)), ValueError, ["float", "int"]),
    # imputers and the protocol
    "generative.rmse:nan_mask": (lambda: gen.rmse(X, X, np.where(MASK, np.nan, 0.0)),
                                 ValueError, ["missing", "0 and 1"]),
    "generative.rmse:probability_mask": (lambda: gen.rmse(X, X, np.full(X.shape, 0.5)),
                                         ValueError, ["missing", "0 and 1", "0.5"]),
    "generative.rmse:nan_imputed": (lambda: gen.rmse(INCOMPLETE, X, MASK), ValueError,
                                    ["imputed", "finite"]),
    "generative.rmse:shapes": (lambda: gen.rmse(X, X[:3], MASK), ValueError,
                               ["complete", "(3, 2)", "one shape"]),
    "generative.rmse:no_missing": (lambda: gen.rmse(X, X, np.zeros(X.shape, bool)), ValueError,
                                   ["mask", "no missing"]),
    "generative.minmax_scale:nan": (lambda: gen.minmax_scale(INCOMPLETE), ValueError,
                                    ["x", "finite"]),
    "generative.minmax_scale:one_dim": (lambda: gen.minmax_scale(np.ones(3)), ValueError,
                                        ["x", "shape", "(3,)"]),
    "generative.impute:not_an_imputer": (lambda: gen.impute(object(), INCOMPLETE, key=KEY),
                                         TypeError, ["imputer", "fit_transform"]),
    "generative.impute:complete_1d": (
        lambda: gen.impute(gen.SklearnImputer("mean"), np.ones(3), key=KEY), ValueError,
        ["x", "shape", "(3,)"]),
    "generative.SklearnImputer:unknown_kind": (lambda: gen.SklearnImputer("median"),
                                               ValueError, ["kind", "median", "knn"]),
    "generative.SklearnImputer:n_neighbors_zero": (
        lambda: gen.SklearnImputer("knn", n_neighbors=0), ValueError,
        ["n_neighbors", ">= 1", "0"]),
    "generative.SklearnImputer:max_iter_float": (
        lambda: gen.SklearnImputer("iterative", max_iter=2.5), ValueError, ["max_iter", "2.5"]),
    "generative.IMPUTERS:unknown_name": (lambda: gen.IMPUTERS.make("median"), ValueError,
                                         ["median", "gain"]),
    "generative.IMPUTERS:unknown_option": (lambda: gen.IMPUTERS.make("mean", k=3), ValueError,
                                           ["k"]),
    "generative.GAIN:hidden_zero": (lambda: gen.GAIN(hidden=0), ValueError,
                                    ["hidden", ">= 1", "0"]),
    "generative.GAIN:hidden_negative": (lambda: gen.GAIN(hidden=-8), ValueError,
                                        ["hidden", "-8"]),
    "generative.GAIN:batch_size_zero": (lambda: gen.GAIN(batch_size=0), ValueError,
                                        ["batch_size", ">= 1"]),
    "generative.GAIN:num_steps_negative": (lambda: gen.GAIN(num_steps=-1), ValueError,
                                           ["num_steps", "-1"]),
    "generative.GAIN:hint_rate_above_one": (lambda: gen.GAIN(hint_rate=1.5), ValueError,
                                            ["hint_rate", "<= 1.0", "1.5"]),
    "generative.GAIN:learning_rate_negative": (lambda: gen.GAIN(learning_rate=-1e-3),
                                               ValueError, ["learning_rate", "> 0.0"]),
    "generative.GAIN:unknown_hint": (lambda: gen.GAIN(hint="both"), ValueError,
                                     ["hint", "both", "paper"]),
    "generative.GAIN:alpha_nan": (lambda: gen.GAIN(alpha=NAN), ValueError, ["alpha", "finite"]),
    "generative.GAIN:fit_1d": (lambda: gen.GAIN().fit_transform(np.ones(3), key=KEY),
                               ValueError, ["x", "(3,)"]),
    "generative.GAINStep:hidden_zero": (lambda: gen.GAINStep(dim=3, hidden=0), ValueError,
                                        ["hidden", ">= 1", "0"]),
    "generative.GAINStep:dim_float": (lambda: gen.GAINStep(dim=2.5, hidden=4), ValueError,
                                      ["dim", "2.5"]),
    "generative.CycleImputer:hidden_zero": (lambda: gen.CycleImputer(hidden=0), ValueError,
                                            ["hidden", ">= 1"]),
    "generative.CycleImputer:weight_negative": (
        lambda: gen.CycleImputer(data_cycle_weight=-1.0), ValueError,
        ["data_cycle_weight", ">= 0.0", "-1.0"]),
    "generative.CycleStep:hidden_negative": (lambda: gen.CycleStep(dim=3, hidden=-2),
                                             ValueError, ["hidden", "-2"]),
    # the GAN core
    "generative.discriminator_loss:unknown_kind": (
        lambda: gen.discriminator_loss(jnp.zeros(2), jnp.zeros(2), "wasserstein"), ValueError,
        ["GAN loss kind", "wasserstein", "hinge"]),
    "generative.generator_loss:unknown_kind": (
        lambda: gen.generator_loss(jnp.zeros(2), "minimax"), ValueError,
        ["GAN loss kind", "minimax"]),
    "generative.linen_apply:not_a_module": (lambda: gen.linen_apply(lambda x: x), TypeError,
                                            ["module", "flax.linen"]),
    "generative.GANState:no_params": (
        lambda: gen.GANState.create({"w": 1}, {"params": {}}, optax.sgd(0.1), optax.sgd(0.1)),
        ValueError, ["g_variables", "'params'"]),
    "generative.gan_step:latent_dim_zero": (_gan_step(latent_dim=0), ValueError,
                                            ["latent_dim", ">= 1", "0"]),
    "generative.gan_step:r1_weight_negative": (_gan_step(r1_weight=-1.0), ValueError,
                                               ["r1_weight", ">= 0.0"]),
    "generative.gan_step:batch_without_x": (_gan_step(batch={"images": jnp.zeros((4, 2))}),
                                            ValueError, ["batch", "'x'", "images"]),
    "generative.gan_step:unknown_loss": (_gan_step(loss="wgan"), ValueError,
                                         ["GAN loss kind", "wgan"]),
    "generative.discriminator_update:not_a_state": (
        lambda: gen.discriminator_update({"d_params": {}}, lambda p: (0.0, ({}, {})),
                                         optax.sgd(0.1)), TypeError, ["state", "GANState"]),
    "generative.discriminator_update:loss_fn_not_callable": (
        lambda: gen.discriminator_update(_state()[0], 1.0, optax.sgd(0.1)), TypeError,
        ["loss_fn", "callable"]),
    "generative.generator_update:tx_not_optax": (
        lambda: gen.generator_update(_state()[0], lambda p: (0.0, ({}, {})), 0.1), TypeError,
        ["g_tx", "optax.GradientTransformation", "float"]),
    "generative.finish_step:missing_metrics": (
        lambda: gen.finish_step(_state()[0], {"d_loss": 1.0}), ValueError,
        ["metrics", "g_loss", "('d_loss',)"]),
    "generative.sample:num_zero": (
        lambda: gen.sample(_state()[0], _state()[1], KEY, 0, 2), ValueError, ["num", ">= 1"]),
    "generative.sample:latent_dim_negative": (
        lambda: gen.sample(_state()[0], _state()[1], KEY, 2, -2), ValueError,
        ["latent_dim", "-2"]),
    "generative.run_steps:num_steps_zero": (_run_steps(num_steps=0), ValueError,
                                            ["num_steps", ">= 1", "0"]),
    "generative.run_steps:batch_above_data": (_run_steps(batch_size=5), ValueError,
                                              ["batch_size=5", "4 examples"]),
    "generative.run_steps:step_fn_not_callable": (_run_steps(step_fn=3), TypeError,
                                                  ["step_fn", "callable"]),
    "generative.domain_fusion.prepare_images:channels": (
        lambda: df.prepare_images(np.zeros((2, 8, 8, 1)), 8, 2), ValueError,
        ["channels", "2", "(1, 3)"]),
    "generative.domain_fusion.prepare_images:float_255": (
        lambda: df.prepare_images(np.full((2, 8, 8, 1), 255.0), 8, 1), ValueError,
        ["[0, 1]", "255"]),
    "generative.domain_fusion.prepare_images:resolution_zero": (
        lambda: df.prepare_images(np.zeros((2, 8, 8, 1)), 0, 1), ValueError,
        ["resolution", ">= 1"]),
    "generative.domain_fusion.few_shot_indices:negative_label": (
        lambda: df.few_shot_indices(np.array([0, -1, 1, 0]), 1, 0), ValueError,
        ["labels", ">= 0", "-1"]),
    "generative.domain_fusion.few_shot_indices:float_labels": (
        lambda: df.few_shot_indices(np.array([0.0, 1.0]), 1, 0), TypeError,
        ["labels", "integer"]),
    "generative.domain_fusion.few_shot_indices:per_class_zero": (
        lambda: df.few_shot_indices(np.array([0, 1]), 0, 0), ValueError, ["per_class", ">= 1"]),
    "generative.domain_fusion.make_gan:g_features_zero": (
        lambda: df.make_gan(SHAPE, 2, g_features=(0,)), ValueError, ["g_features[0]", ">= 1"]),
    "generative.domain_fusion.make_gan:learning_rate_negative": (
        lambda: df.make_gan(SHAPE, 2, d_learning_rate=-2e-4), ValueError,
        ["d_learning_rate", "> 0.0"]),
    "generative.domain_fusion.make_gan:b1_above_one": (lambda: df.make_gan(SHAPE, 2, b1=1.5),
                                                       ValueError, ["b1", "<= 1.0", "1.5"]),
    "generative.domain_fusion.make_gan:latent_dim_zero": (
        lambda: df.make_gan(SHAPE, 2, latent_dim=0), ValueError, ["latent_dim", ">= 1"]),
    "generative.domain_fusion.make_gan:unknown_loss": (
        lambda: df.make_gan(SHAPE, 2, loss="wasserstein"), ValueError,
        ["GAN loss kind", "wasserstein"]),
    "generative.domain_fusion.train_gan:not_a_gan": (
        lambda: df.train_gan(object(), {}, key=KEY, workdir="/nonexistent", epochs=1,
                             batch_size=2), TypeError, ["model", "make_gan"]),
    "generative.domain_fusion.generate:label_out_of_range": (
        lambda: df.generate(_gan(), None, KEY, [0, 5]), ValueError, ["labels", "[0, 2)"]),
    "generative.domain_fusion.generate:unknown_domain": (
        lambda: df.generate(_gan(), None, KEY, [0, 1], domain=2), ValueError,
        ["domain", "2", "(0, 1)"]),
    "generative.domain_fusion.class_balanced_samples:num_classes_zero": (
        lambda: df.class_balanced_samples(_gan(), None, KEY, 1, 0), ValueError,
        ["num_classes", ">= 1"]),
    "generative.domain_fusion.synthetic_count:fraction_one": (
        lambda: df.synthetic_count(8, 1.0), ValueError, ["synthetic_fraction", "[0, 1)"]),
    "generative.domain_fusion.mixed_batch:num_synthetic_too_many": (
        lambda: df.mixed_batch(KEY, jnp.zeros((4, 2)), jnp.zeros(4, jnp.int32),
                               jnp.zeros((4, 2)), jnp.zeros(4, jnp.int32), 4, 4), ValueError,
        ["num_synthetic", "[0, 3]", "4"]),
    "generative.domain_fusion.mixed_batch:ragged_real": (
        lambda: df.mixed_batch(KEY, jnp.zeros((4, 2)), jnp.zeros(3, jnp.int32),
                               jnp.zeros((4, 2)), jnp.zeros(4, jnp.int32), 4, 1), ValueError,
        ["real_x 4", "real_y 3"]),
    "generative.domain_fusion.train_classifier:negative_label": (
        lambda: df.train_classifier(None, np.zeros((4, *SHAPE), np.float32),
                                    np.array([0, 1, -3, 0]), KEY, steps=1, batch_size=2,
                                    tx=optax.sgd(0.1)), ValueError, ["real_y", "-3"]),
    "generative.domain_fusion.train_classifier:images_255": (
        lambda: df.train_classifier(None, np.full((4, *SHAPE), 255.0, np.float32),
                                    np.zeros(4, int), KEY, steps=1, batch_size=2,
                                    tx=optax.sgd(0.1)), ValueError, ["real_x", "[0.0, 1.0]"]),
    "generative.domain_fusion.train_classifier:steps_zero": (
        lambda: df.train_classifier(None, np.zeros((4, *SHAPE), np.float32), np.zeros(4, int),
                                    KEY, steps=0, batch_size=2, tx=optax.sgd(0.1)),
        ValueError, ["steps", ">= 1"]),
    "generative.domain_fusion.training_set:not_fusion_data": (
        lambda: df.training_set(None, domains="both"), TypeError,
        ["fusion", "FusionData", "NoneType"]),
    "generative.domain_fusion.training_set:unknown_domains": (
        lambda: df.training_set(_fusion(), domains="all"), ValueError,
        ["domains", "all", "both"]),
    "generative.domain_fusion.training_set:epoch_size_float": (
        lambda: df.training_set(_fusion(), domains="both", epoch_size=10.5), ValueError,
        ["epoch_size", "integer", "10.5"]),
    "generative.domain_fusion.training_set:target_fraction_one": (
        lambda: df.training_set(_fusion(), domains="both", target_fraction=1.0), ValueError,
        ["target_fraction", "< 1"]),
    "generative.domain_fusion.FusionData:empty_target": (
        lambda: _fusion(target_x=np.zeros((0, *SHAPE), np.float32),
                        target_y=np.zeros(0, np.int32)), ValueError, ["target", "empty"]),
    "generative.domain_fusion.FusionData:outer_label_out_of_range": (
        lambda: _fusion(outer_y=np.array([0, 1, 2, 0], np.int32)), ValueError,
        ["outer_y", "[0, 2)"]),
    "generative.domain_fusion.FusionData:images_255": (
        lambda: _fusion(test_x=np.full((4, *SHAPE), 255.0, np.float32)), ValueError,
        ["test_x", "[0.0, 1.0]"]),
    "generative.domain_fusion.load_fusion_data:max_outer_negative": (
        lambda: df.load_fusion_data("digits", "mnist5k", resolution=8, per_class=1,
                                    shared_classes=True, seed=0, max_outer=-1), ValueError,
        ["max_outer", ">= 0", "-1"]),
    "generative.domain_fusion.load_fusion_data:shared_classes_text": (
        lambda: df.load_fusion_data("digits", "mnist5k", resolution=8, per_class=1,
                                    shared_classes="yes", seed=0), TypeError,
        ["shared_classes", "'yes'"]),
    "generative.domain_fusion.load_fusion_data:resolution_zero": (
        lambda: df.load_fusion_data("digits", "mnist5k", resolution=0, per_class=1,
                                    shared_classes=True, seed=0), ValueError,
        ["resolution", ">= 1"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_clearly(case):
  call, error, words = CASES[case]
  assert_clear_error(call, error, words)


def test_a_binary_mask_of_either_dtype_still_works():
  """The mask check accepts what it should: bool and 0/1 floats give the same NaNs and RMSE."""
  as_float = MASK.astype(np.float64)
  np.testing.assert_array_equal(np.isnan(gen.with_nans(X, as_float)), MASK)
  assert gen.rmse(X + 0.5 * MASK, X, as_float) == gen.rmse(X + 0.5 * MASK, X, MASK) == 0.5
