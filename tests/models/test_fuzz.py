"""Bad input to models' public entries: the dataset fields at construction (before
flax divides by zero), a clear error each."""

from jaxrobust import models
from tests.bad_input import fuzz_test

NAN = float("nan")

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
}

test_bad_input_raises_a_clear_error = fuzz_test(CASES)


def test_good_input_passes_the_same_checks():
  models.Linear(num_classes=2, mean=[0.5], std=[0.25])
