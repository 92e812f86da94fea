"""Bad input at every public entry of jaxrobust.adaptation: a clear error naming the argument.

CASES keys are "adaptation.<entry>:<what is bad>"; each value is (call, error type, words the
message must contain). Nothing here trains: every call fails at its boundary checks.
"""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxrobust import adaptation as ad
from tests.adaptation._toy import toy_domain, toy_nets, toy_pair
from tests.bad_input import assert_clear_error

NAN = float("nan")
KEY = jax.random.key(0)
F = jnp.asarray(np.random.default_rng(0).normal(size=(6, 3)), jnp.float32)
Y = jnp.array([0, 1, 0, 1, 0, 1])
P = jnp.full((6, 2), 0.5)
S = toy_domain("s", 6, 0, False)


def _mmd(**overrides):
  args = dict(source_features=F, source_labels=Y, target_features=F, target_probs=P)
  args.update(overrides)
  return lambda: ad.class_conditional_mmd(**args)


def _config(**optimizer):
  return ml_collections.ConfigDict({
      "source": "toy_s", "target": "toy_t", "size": 8, "method": {"name": "dann"},
      "model": {"conv_features": (4,), "feature_dim": 8, "disc_hidden": (8,)},
      "optimizer": {"name": "adam", "learning_rate": 1e-2, "schedule": "constant",
                    **optimizer},
      "batch_size": 8, "epochs": 1, "seed": 0, "progress": False})


def _pair_with(**source):
  s = ad.Domain("s", **{"images": S.images, "labels": S.labels, **source})
  return lambda: ad.make_pair(s, S, S, S)


def _net(**fields):
  return lambda: ad.AdaptationNet(**{"num_classes": 3, "mean": (0.5,), "std": (0.25,),
                                     **fields})


def _loss(method, xs=None, ys=None):
  def call():
    pair = toy_pair(12)
    net, disc = toy_nets(pair)
    x = pair.source_train.images[:4] if xs is None else xs
    y = pair.source_train.labels[:4] if ys is None else ys
    params = {"net": net.init(KEY, pair.source_train.images[:1])["params"]}
    dim = method.discriminator_dim(8, 3)
    if dim is not None:
      params["disc"] = disc.init(KEY, jnp.zeros((1, dim)))["params"]
    return method.loss(net, disc, params, x, y, pair.target_train.images[:4], progress=0.5,
                       key=KEY)
  return call


CASES = {
    # alignment
    "adaptation.class_conditional_mmd:log_probabilities": (
        _mmd(target_probs=jnp.log(P)), ValueError,
        ["target_probs", "[0.0, 1.0]", "log-probabilities"]),
    "adaptation.class_conditional_mmd:rows_not_summing_to_one": (
        _mmd(target_probs=jnp.full((6, 2), 0.2)), ValueError, ["target_probs", "sum to 1"]),
    "adaptation.class_conditional_mmd:bandwidth_zero": (
        _mmd(bandwidths=(1.0, 0.0)), ValueError, ["bandwidths[1]", "> 0.0", "0.0"]),
    "adaptation.class_conditional_mmd:bandwidth_negative": (
        _mmd(bandwidths=(-1.0,)), ValueError, ["bandwidths[0]", "> 0.0", "-1.0"]),
    "adaptation.class_conditional_mmd:no_bandwidths": (
        _mmd(bandwidths=()), ValueError, ["bandwidths", "non-empty"]),
    "adaptation.class_conditional_mmd:label_out_of_range": (
        _mmd(source_labels=Y.at[0].set(2)), ValueError, ["source_labels", "[0, 2)"]),
    "adaptation.class_conditional_mmd:nan_features": (
        _mmd(source_features=F.at[0, 0].set(NAN)), ValueError, ["source_features", "finite"]),
    "adaptation.class_conditional_mmd:width_mismatch": (
        _mmd(target_features=F[:, :2]), ValueError, ["same width", "3", "2"]),
    "adaptation.gaussian_kernel:bandwidth_zero": (
        lambda: ad.gaussian_kernel(F, (0.0,)), ValueError, ["bandwidths[0]", "> 0.0"]),
    "adaptation.gaussian_kernel:one_dim": (lambda: ad.gaussian_kernel(jnp.ones(3)), ValueError,
                                           ["z", "[points, dim]", "(3,)"]),
    # pseudo-labels and the methods
    "adaptation.pseudo_labels:confidence_above_one": (
        lambda: ad.pseudo_labels(jnp.zeros((4, 3)), confidence=2.0), ValueError,
        ["confidence", "<= 1", "2.0"]),
    "adaptation.pseudo_labels:confidence_negative": (
        lambda: ad.pseudo_labels(jnp.zeros((4, 3)), confidence=-0.5), ValueError,
        ["confidence", ">= 0"]),
    "adaptation.pseudo_labels:one_dim_logits": (
        lambda: ad.pseudo_labels(jnp.zeros(4)), ValueError, ["logits_t", "[batch, classes]"]),
    "adaptation.ClassConditional:confidence_above_one": (
        lambda: ad.ClassConditional(confidence=2.0), ValueError, ["confidence", "<= 1"]),
    "adaptation.ClassConditional:alignment_negative": (
        lambda: ad.ClassConditional(alignment=-1.0), ValueError, ["alignment", ">= 0"]),
    "adaptation.DANN:weight_negative": (lambda: ad.DANN(weight=-1.0), ValueError,
                                        ["DANN.weight", ">= 0", "-1.0"]),
    "adaptation.DANN:gamma_nan": (lambda: ad.DANN(gamma=NAN), ValueError,
                                  ["DANN.gamma", "finite"]),
    "adaptation.CDAN:randomized_dim_negative": (lambda: ad.CDAN(randomized_dim=-4), ValueError,
                                                ["randomized_dim", ">= 0", "-4"]),
    "adaptation.SourceOnly:images_255": (
        _loss(ad.SourceOnly(), xs=np.full((4, 8, 8, 1), 255.0, np.float32)), ValueError,
        ["xs", "[0.0, 1.0]", "255"]),
    "adaptation.SourceOnly:label_out_of_range": (
        _loss(ad.SourceOnly(), ys=np.array([0, 1, 2, 3], np.int32)), ValueError,
        ["ys", "[0, 3)"]),
    "adaptation.DANN:uint8_images": (
        _loss(ad.DANN(), xs=np.zeros((4, 8, 8, 1), np.uint8)), TypeError,
        ["xs", "floating point", "uint8"]),
    "adaptation.ADAPTATION_METHODS.make:unknown_name": (
        lambda: ad.ADAPTATION_METHODS.make("dan"), ValueError, ["dan", "dann"]),
    "adaptation.ADAPTATION_METHODS.make:unknown_option": (
        lambda: ad.ADAPTATION_METHODS.make("dann", weigth=1.0), ValueError,
                                       ["weigth"]),
    "adaptation.ADAPTATION_METHODS.from_config:no_name": (
        lambda: ad.ADAPTATION_METHODS.from_config({"weight": 1.0}), ValueError,
                                       ["name"]),
    # conditioning
    "adaptation.multilinear_map:logits_for_probs": (
        lambda: ad.multilinear_map(F, jnp.full((6, 2), -3.0)), ValueError,
        ["probs", "[0.0, 1.0]"]),
    "adaptation.multilinear_map:ragged": (lambda: ad.multilinear_map(F, P[:4]), ValueError,
                                          ["features 6", "probs 4"]),
    "adaptation.randomized_multilinear_map:dim_zero": (
        lambda: ad.randomized_multilinear_map(F, P, KEY, 0), ValueError, ["dim", ">= 1"]),
    "adaptation.condition:randomized_dim_negative": (
        lambda: ad.condition(F, P, KEY, -1), ValueError, ["randomized_dim", ">= 0", "-1"]),
    "adaptation.conditioning_dim:feature_dim_zero": (
        lambda: ad.conditioning_dim(0, 3), ValueError, ["feature_dim", ">= 1", "0"]),
    "adaptation.conditioning_dim:num_classes_float": (
        lambda: ad.conditioning_dim(8, 2.5), ValueError, ["num_classes", "2.5"]),
    "adaptation.entropy:log_probabilities": (lambda: ad.entropy(jnp.log(P)), ValueError,
                                             ["probs", "[0.0, 1.0]"]),
    "adaptation.entropy_weights:rows_not_summing_to_one": (
        lambda: ad.entropy_weights(jnp.full((6, 2), 0.9)), ValueError, ["probs", "sum to 1"]),
    # the gradient reversal layer and its schedule
    "adaptation.reverse_gradient:coeff_negative": (
        lambda: ad.reverse_gradient(F, -0.5), ValueError, ["coeff", ">= 0", "-0.5"]),
    "adaptation.reverse_gradient:coeff_nan_jax": (
        lambda: ad.reverse_gradient(F, jnp.float32(NAN)), ValueError, ["coeff", "finite"]),
    "adaptation.dann_coefficient:progress_above_one": (
        lambda: ad.dann_coefficient(1.5), ValueError, ["progress", "<= 1", "1.5"]),
    "adaptation.dann_coefficient:gamma_negative": (
        lambda: ad.dann_coefficient(0.5, -10.0), ValueError, ["gamma", ">= 0"]),
    # data
    "adaptation.make_pair:images_255": (_pair_with(images=S.images * 255.0), ValueError,
                                        ["source_train.images", "[0.0, 1.0]", "255"]),
    "adaptation.make_pair:uint8_images": (_pair_with(images=(S.images * 255).astype(np.uint8)),
                                          TypeError, ["source_train.images", "uint8"]),
    "adaptation.make_pair:float_labels": (_pair_with(labels=S.labels.astype(np.float32)),
                                          TypeError, ["source_train.labels", "integer"]),
    "adaptation.make_pair:negative_label": (_pair_with(labels=S.labels - 1), ValueError,
                                            ["source_train.labels", ">= 0", "-1"]),
    "adaptation.make_pair:ragged": (_pair_with(labels=S.labels[:4]), ValueError,
                                    ["source_train.images 6", "source_train.labels 4"]),
    "adaptation.load_domain:unknown_domain": (lambda: ad.load_domain("svhn", "train"),
                                              ValueError, ["domain", "svhn", "digits"]),
    "adaptation.load_domain:size_too_small": (lambda: ad.load_domain("digits", "train", 2),
                                              ValueError, ["size", ">= 4", "2"]),
    "adaptation.load_domain:unknown_split": (lambda: ad.load_domain("digits", "val"),
                                             ValueError, ["split", "val", "test"]),
    "adaptation.load_pair:same_domain": (lambda: ad.load_pair("digits", "digits"), ValueError,
                                         ["both 'digits'"]),
    # networks
    "adaptation.AdaptationNet:conv_width_zero": (_net(conv_features=(4, 0)), ValueError,
                                                 ["conv_features[1]", ">= 1", "0"]),
    "adaptation.AdaptationNet:feature_dim_negative": (_net(feature_dim=-8), ValueError,
                                                      ["feature_dim", "-8"]),
    "adaptation.AdaptationNet:num_classes_zero": (_net(num_classes=0), ValueError,
                                                  ["num_classes"]),
    "adaptation.Discriminator:hidden_negative": (lambda: ad.Discriminator((100, -1)),
                                                 ValueError, ["hidden[1]", ">= 1", "-1"]),
    "adaptation.Discriminator:hidden_not_a_sequence": (lambda: ad.Discriminator(100),
                                                       TypeError, ["hidden", "sequence"]),
    # training
    "adaptation.fit:learning_rate_negative": (
        lambda: ad.fit(_config(learning_rate=-1e-2), "/nonexistent", toy_pair(12)),
        ValueError, ["learning_rate", "> 0.0", "-0.01"]),
    "adaptation.fit:learning_rate_zero": (
        lambda: ad.fit(_config(learning_rate=0.0), "/nonexistent", toy_pair(12)),
        ValueError, ["learning_rate", "> 0.0"]),
    "adaptation.fit:weight_decay_negative": (
        lambda: ad.fit(_config(weight_decay=-1e-4), "/nonexistent", toy_pair(12)),
        ValueError, ["weight_decay", ">= 0.0", "-0.0001"]),
    "adaptation.fit:unknown_method": (
        lambda: ad.fit(ml_collections.ConfigDict({**_config().to_dict(),
                                                  "method": {"name": "dan"}}),
                       "/nonexistent", toy_pair(12)), ValueError, ["dan", "dann"]),
    "adaptation.embed:batch_size_zero": (
        lambda: ad.embed(None, None, S.images, batch_size=0), ValueError,
        ["batch_size", ">= 1", "0"]),
    "adaptation.embed:images_255": (lambda: ad.embed(None, None, S.images * 255.0), ValueError,
                                    ["images", "[0.0, 1.0]", "255"]),
    "adaptation.accuracy:ragged": (lambda: ad.accuracy(None, None, S.images, S.labels[:3]),
                                   ValueError, ["images 6", "labels 3"]),
    "adaptation.accuracy:three_dim_images": (
        lambda: ad.accuracy(None, None, S.images[..., 0], S.labels), ValueError,
        ["images", "[batch, height, width, channels]"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_clearly(case):
  call, error, words = CASES[case]
  assert_clear_error(call, error, words)


def test_good_probabilities_and_bandwidths_still_pass():
  """The new checks accept what they should: softmax rows, one-hot rows, positive bandwidths."""
  onehot = jax.nn.one_hot(Y, 2)
  assert float(ad.class_conditional_mmd(F, Y, F, onehot, bandwidths=(0.5, 2.0))) == (
      pytest.approx(0.0, abs=1e-5))
  np.testing.assert_array_equal(ad.pseudo_labels(jnp.zeros((2, 2)), 1.0), jnp.zeros((2, 2)))
  # Rows zeroed below the confidence threshold weigh no class: allowed, eagerly too.
  assert np.isfinite(float(ad.class_conditional_mmd(F, Y, F, ad.pseudo_labels(F[:, :2], 0.9))))
  # Under jit the traced confidence passes unchecked (the check is on concrete values).
  assert jax.jit(ad.pseudo_labels)(jnp.zeros((2, 2)), 0.5).shape == (2, 2)
