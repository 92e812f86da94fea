"""The zoo's architectures against RobustBench 1.1.1's own torch classes.

Each kind: RobustBench's class with random weights and randomized BatchNorm
statistics, in eval mode, converted through `jaxrobust.models.convert`; logits
agree to 1e-4 relative and input gradients to 1e-3 relative. Depth and width
are reduced where the class takes them (its layout is that of the full size);
RobustBench's CIFAR classes pool with fixed windows, so inputs are 32x32.
"""

from tests.peers import require_peers
from tests.peers import robustbench_classes as rb

require_peers()
rb.require_robustbench()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from jaxrobust import models  # noqa: E402
from jaxrobust.models import convert  # noqa: E402
from tests.peers import torch_models as tm  # noqa: E402

SHAPE = (32, 32, 3)
NONE = ((0.0,) * 3, (1.0,) * 3)


def _dm():
  return rb.architectures("dm_wide_resnet")


def _resnet():
  return rb.architectures("resnet")


# kind -> (RobustBench model builder, our model name, its options, (mean, std) of ours).
KINDS = {
    "preact_resnet18_preactblock": (
        lambda: _resnet().PreActResNet18(), "preact_resnet18",
        {"shortcut_input": True, "final_bn": False}, NONE),
    "preact_resnet18_out_shortcut_bn": (  # CIFAR-100 Rice2020Overfitting's
        lambda: _resnet().PreActResNet(_resnet().PreActBlock, [2, 2, 2, 2], num_classes=10,
                                       bn_before_fc=True, out_shortcut=True),
        "preact_resnet18", {}, NONE),
    "wide_resnet_sub_block1": (
        lambda: rb.architectures("wide_resnet").WideResNet(depth=10, widen_factor=2,
                                                           sub_block1=True),
        "wide_resnet", {"depth": 10, "width": 2}, NONE),
    "wide_resnet_2x_minus_1": (  # Hendrycks2019Using's input transform, in its forward()
        lambda: rb.zoo_module("cifar10").Hendrycks2019UsingNet(depth=10, widen_factor=1),
        "wide_resnet", {"depth": 10, "width": 1}, ((0.5,) * 3, (0.5,) * 3)),
    "dm_wide_resnet_swish": (
        lambda: _dm().DMWideResNet(depth=10, width=2, activation_fn=_dm().Swish),
        "dm_wide_resnet", {"depth": 10, "width": 2}, (_dm().CIFAR10_MEAN, _dm().CIFAR10_STD)),
    "dm_wide_resnet_gelu": (
        lambda: _dm().DMWideResNet(depth=10, width=1, activation_fn=torch.nn.GELU),
        "dm_wide_resnet", {"depth": 10, "width": 1, "activation": "gelu"},
        (_dm().CIFAR10_MEAN, _dm().CIFAR10_STD)),
    "dm_preact_resnet18_silu": (
        lambda: _dm().DMPreActResNet(depth=18, activation_fn=torch.nn.SiLU),
        "dm_preact_resnet", {}, (_dm().CIFAR10_MEAN, _dm().CIFAR10_STD)),
    "cifar_resnet18": (lambda: _resnet().ResNet18(), "cifar_resnet", {"depth": 18}, NONE),
    "cifar_resnet50": (lambda: _resnet().ResNet50(), "cifar_resnet", {"depth": 50}, NONE),
    "robust_wide_resnet": (
        lambda: rb.architectures("robust_wide_resnet").RobustWideResNet(
            channel_configs=[16, 32, 64, 48], depth_configs=[2, 1, 1]),
        "robust_wide_resnet", {"channels": (32, 64, 48), "depths": (2, 1, 1)}, NONE),
}
# The full-width (64-512 channel) classes, whose constructors fix the width: slow tier.
SLOW = ("cifar_resnet50", "cifar_resnet18", "preact_resnet18_out_shortcut_bn",
        "preact_resnet18_preactblock", "dm_preact_resnet18_silu")


def randomized(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
  """Variance-preserving random weights and randomized BatchNorm statistics, eval mode."""
  torch.manual_seed(seed)
  with torch.no_grad():
    for m in module.modules():
      if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
        torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
  tm.randomize_batchnorm(module, seed)
  with torch.no_grad():  # damped residual branches (as trained nets have): logits of order 1
    for name, m in module.named_modules():
      if isinstance(m, torch.nn.BatchNorm2d) and name.endswith(("bn2", "bn3", "batchnorm_1")):
        m.weight.mul_(0.3)
  return module.eval()


def agreement(twin, model, variables, batch: int = 2):
  """Relative max differences of logits and input gradients on random [0, 1] inputs."""
  x = jax.random.uniform(jax.random.key(1), (batch, *SHAPE))
  y = jnp.arange(batch) % 10

  z_jax, g_jax, z_torch, g_torch = tm.logits_and_input_grads(twin, model, variables, x, y)
  assert np.abs(z_jax).max() > 0.3 and np.abs(g_jax).max() > 1e-3  # not near-zeros
  return (np.abs(z_torch - z_jax).max() / np.abs(z_torch).max(),
          np.abs(g_torch - g_jax).max() / np.abs(g_torch).max())


@pytest.mark.parametrize("kind", [pytest.param(k, marks=pytest.mark.slow) if k in SLOW else k
                                  for k in KINDS])
def test_robustbench_class_agrees_after_conversion(kind):
  build, name, options, (mean, std) = KINDS[kind]
  twin = randomized(build())
  model = models.make(name, num_classes=10, mean=mean, std=std, **options)
  variables = convert.import_state_dict(twin.state_dict(), model, SHAPE)
  logits, grads = agreement(twin, model, variables)
  print(f"{kind}: relative max |logit diff| {logits:.1e}, |grad diff| {grads:.1e}")
  assert logits < 1e-4 and grads < 1e-3


@pytest.mark.slow
def test_preactblock_and_v2_are_told_apart_by_the_option():
  """RobustBench's PreActBlock and PreActBlockV2 share keys; shortcut_input picks the
  function, and the wrong choice is a visibly different model."""
  build, name, options, (mean, std) = KINDS["preact_resnet18_preactblock"]
  twin = randomized(build())
  wrong = models.make(name, num_classes=10, mean=mean, std=std, final_bn=False)
  logits, _ = agreement(twin, wrong, convert.import_state_dict(twin.state_dict(), wrong, SHAPE))
  assert logits > 1e-2


def test_unknown_activation_names_the_valid_ones():
  with pytest.raises(ValueError, match="valid choices.*swish"):
    models.make("dm_wide_resnet", num_classes=10, mean=NONE[0], std=NONE[1],
                activation="tanh")
