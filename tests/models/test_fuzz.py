"""Bad input to models' public entries: the dataset fields at construction (before
flax divides by zero), a clear error each."""

import jax
import jax.numpy as jnp

from jaxrobust import models
from tests.bad_input import fuzz_test

NAN = float("nan")
KEY = jax.random.key(0)
Z = jnp.array([[1.0, -2.0, 0.5]])

CASES = {
    "models.Linear:no_classes": (
        lambda: models.Linear(num_classes=0, mean=(0.5,), std=(0.2,)),
        ValueError, ["num_classes", ">= 2", "0"]),
    "models.MLP:one_class": (
        lambda: models.MLP(num_classes=1, mean=(0.5,), std=(0.2,)),
        ValueError, ["num_classes", ">= 2"]),
    "models.SmallCNN:classes_float": (
        lambda: models.SmallCNN(num_classes=10.0, mean=(0.5,), std=(0.2,)),
        ValueError, ["num_classes", "integer", "10.0"]),
    "models.SmallCNN:mean_1_std_3": (
        lambda: models.SmallCNN(num_classes=10, mean=(0.5,), std=(0.2,) * 3),
        ValueError, ["mean and std", "1 and 3"]),
    "models.PreActResNet18:std_zero": (
        lambda: models.PreActResNet18(num_classes=10, mean=(0.5,) * 3, std=(0.2, 0.0, 0.2)),
        ValueError, ["std[1]", "> 0", "0.0"]),
    "models.WideResNet:mean_nan": (
        lambda: models.WideResNet(num_classes=10, mean=(NAN,), std=(0.2,)),
        ValueError, ["mean[0]", "finite"]),
    "models.Normalize:mean_scalar": (
        lambda: models.Normalize(mean=0.5, std=(0.2,)), ValueError, ["mean", "per-channel", "0.5"]),
    "models.Normalize:lengths": (
        lambda: models.Normalize(mean=(0.5,) * 3, std=(0.2,)),
        ValueError, ["mean and std", "3 and 1"]),
    "models.BayesDense:posterior_std_negative": (
        lambda: models.BayesDense(4, posterior_std_init=-1.0), ValueError,
        ["posterior_std_init", "-1.0"]),
    "models.BayesDense:features_zero": (lambda: models.BayesDense(0), ValueError,
                                        ["features", ">= 1", "0"]),
    "models.BayesConv:features_zero": (lambda: models.BayesConv(0), ValueError,
                                       ["features", ">= 1", "0"]),
    "models.GaussianNoise:std_negative": (lambda: models.GaussianNoise(std=-0.1), ValueError,
                                          ["std", "-0.1"]),
    "models.GaussianNoise:std_nan": (lambda: models.GaussianNoise(std=NAN), ValueError,
                                     ["std", "finite"]),
    "models.RandomResizePad:max_pad_negative": (lambda: models.RandomResizePad(max_pad=-1),
                                                ValueError, ["max_pad", ">= 0", "-1"]),
    "models.ForecastMLP:hidden_zero": (lambda: models.ForecastMLP(hidden=0), ValueError,
                                       ["hidden", ">= 1", "0"]),
    "models.apply_head:name_unknown": (lambda: models.apply_head("softmax2", Z), ValueError,
                                       ["head", "'softmax2'", "identity"]),
    "models.make:name_unknown": (lambda: models.make("vgg", num_classes=3, mean=(0.5,),
                                                     std=(0.2,)), ValueError,
                                 ["model", "'vgg'", "small_cnn"]),
    "models.make:head_unknown": (lambda: models.make("linear", num_classes=3, mean=(0.5,),
                                                     std=(0.2,), head="soft"), ValueError,
                                 ["head", "'soft'"]),
    "models.add_kl_gradient:weight_negative": (lambda: models.add_kl_gradient(-1.0, 0.1),
                                               ValueError, ["weight", "-1.0"]),
    "models.add_kl_gradient:prior_std_zero": (lambda: models.add_kl_gradient(1.0, 0.0),
                                              ValueError, ["prior_std", "> 0"]),
    "models.kl_divergence:prior_std_zero": (lambda: models.kl_divergence({}, 0.0), ValueError,
                                            ["prior_std", "> 0"]),
    "models.sample_logits_fn:key_int": (
        lambda: models.sample_logits_fn(models.RandomizedCNN(num_classes=3, mean=(0.5,),
                                                             std=(0.2,)), {}, 0),
        TypeError, ["key", "0"]),
    "models.fold_batchnorm:variables_empty": (
        lambda: models.fold_batchnorm(models.SmallCNN(num_classes=3, mean=(0.5,), std=(0.2,),
                                                      batchnorm=True), {}),
        ValueError, ["variables", "params"]),
}

test_bad_input_raises_a_clear_error = fuzz_test(CASES)


def test_good_input_passes_the_same_checks():
  models.Linear(num_classes=2, mean=[0.5], std=[0.25])
