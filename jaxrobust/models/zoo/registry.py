"""The RobustBench model zoo by name: `ZOO`, keyed "<dataset>/<threat_model>/<name>".

One line an entry: RobustBench 1.1.1's entry (`model_zoo/<dataset>.py`, whose
architectures and normalizations these follow; the test checks each against
RobustBench's own classes) and the leaderboard's clean and AutoAttack accuracy
(RobustBench's `model_info` JSON). Names are RobustBench's own, hyphens included.
Entries whose architecture we do not have are in `UNSUPPORTED`, with the reason.
"""

from __future__ import annotations

from typing import Any

from jaxrobust.models.zoo.entry import ZooEntry, radius
from jaxrobust.registry import Registry

ZOO = Registry("zoo entry")

# Per-channel (mean, std) that RobustBench's models apply to [0, 1] inputs.
NONE = ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
HALF = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))  # Hendrycks2019Using's 2 x - 1
CIFAR10 = ((0.4914, 0.4822, 0.4465), (0.2471, 0.2435, 0.2616))
CIFAR10_MADRYLAB = ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.201))
CIFAR10_AUGUSTIN = ((0.4914, 0.482159, 0.446531), (0.247032, 0.243485, 0.261588))
CIFAR10_RONY = ((0.491, 0.482, 0.447), (0.247, 0.243, 0.262))
CIFAR100 = ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762))
CIFAR100_CHEN = ((0.5071, 0.4867, 0.4408), (0.2675, 0.2565, 0.2761))
CIFAR100_WU = ((0.507075, 0.486549, 0.440918), (0.267334, 0.256438, 0.27615))
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def _entry(group: str, name: str, architecture: str, clean: float, autoattack: float,
           eps: str, model: str, stats, input_size: int | None = None, **options: Any) -> None:
  """Registers "<group>/<name>"; group is "<dataset>/<threat_model>"."""
  dataset, threat_model = group.split("/")
  ZOO.register(f"{group}/{name}", ZooEntry, name=name, dataset=dataset,
               threat_model=threat_model, model=model, options=options, mean=stats[0],
               std=stats[1], clean_accuracy=clean, autoattack_accuracy=autoattack,
               eps=radius(eps), architecture=architecture, input_size=input_size)


# cifar10/linf
_entry("cifar10/linf", "Andriushchenko2020Understanding", "PreActResNet-18", 79.84, 43.93, "8/255",
       "preact_resnet18", NONE, shortcut_input=True, final_bn=False)
_entry("cifar10/linf", "Carmon2019Unlabeled", "WideResNet-28-10", 89.69, 59.53, "8/255",
       "wide_resnet", NONE, depth=28, width=10)
_entry("cifar10/linf", "Sehwag2020Hydra", "WideResNet-28-10", 88.98, 57.14, "8/255",
       "wide_resnet", NONE, depth=28, width=10)
_entry("cifar10/linf", "Wang2020Improving", "WideResNet-28-10", 87.50, 56.29, "8/255",
       "wide_resnet", NONE, depth=28, width=10)
_entry("cifar10/linf", "Hendrycks2019Using", "WideResNet-28-10", 87.11, 54.92, "8/255",
       "wide_resnet", HALF, depth=28, width=10)
_entry("cifar10/linf", "Rice2020Overfitting", "WideResNet-34-20", 85.34, 53.42, "8/255",
       "wide_resnet", CIFAR10, depth=34, width=20)
_entry("cifar10/linf", "Zhang2019Theoretically", "WideResNet-34-10", 84.92, 53.08, "0.031",
       "wide_resnet", NONE, depth=34, width=10)
_entry("cifar10/linf", "Engstrom2019Robustness", "ResNet-50", 87.03, 49.25, "8/255",
       "cifar_resnet", CIFAR10_MADRYLAB, depth=50)
_entry("cifar10/linf", "Huang2020Self", "WideResNet-34-10", 83.48, 53.34, "0.031",
       "wide_resnet", NONE, depth=34, width=10)
_entry("cifar10/linf", "Wong2020Fast", "PreActResNet-18", 83.34, 43.21, "8/255",
       "preact_resnet18", CIFAR10, shortcut_input=True, final_bn=False)
_entry("cifar10/linf", "Ding2020MMA", "WideResNet-28-4", 84.36, 41.44, "8/255",
       "wide_resnet", NONE, depth=28, width=4, per_image_standardization=True)
_entry("cifar10/linf", "Zhang2019You", "WideResNet-34-10", 87.20, 44.83, "8/255",
       "wide_resnet", NONE, depth=34, width=10)
_entry("cifar10/linf", "Zhang2020Attacks", "WideResNet-34-10", 84.52, 53.51, "8/255",
       "wide_resnet", NONE, depth=34, width=10)
_entry("cifar10/linf", "Wu2020Adversarial_extra", "WideResNet-28-10", 88.25, 60.04, "8/255",
       "wide_resnet", NONE, depth=28, width=10)
_entry("cifar10/linf", "Wu2020Adversarial", "WideResNet-34-10", 85.36, 56.17, "8/255",
       "wide_resnet", NONE, depth=34, width=10)
_entry("cifar10/linf", "Gowal2020Uncovering_70_16", "WideResNet-70-16", 85.29, 57.20, "8/255",
       "dm_wide_resnet", CIFAR10, depth=70, width=16)
_entry("cifar10/linf", "Gowal2020Uncovering_70_16_extra", "WideResNet-70-16", 91.10, 65.88, "8/255",
       "dm_wide_resnet", CIFAR10, depth=70, width=16)
_entry("cifar10/linf", "Gowal2020Uncovering_34_20", "WideResNet-34-20", 85.64, 56.86, "8/255",
       "dm_wide_resnet", CIFAR10, depth=34, width=20)
_entry("cifar10/linf", "Gowal2020Uncovering_28_10_extra", "WideResNet-28-10", 89.48, 62.80, "8/255",
       "dm_wide_resnet", CIFAR10, depth=28, width=10)
_entry("cifar10/linf", "Sehwag2021Proxy", "WideResNet-34-10", 86.68, 60.27, "8/255",
       "wide_resnet", NONE, depth=34, width=10)
_entry("cifar10/linf", "Sehwag2021Proxy_R18", "ResNet-18", 84.59, 55.54, "8/255",
       "cifar_resnet", NONE, depth=18)
_entry("cifar10/linf", "Sitawarin2020Improving", "WideResNet-34-10", 86.84, 50.72, "8/255",
       "wide_resnet", NONE, depth=34, width=10)
_entry("cifar10/linf", "Chen2020Efficient", "WideResNet-34-10", 85.32, 51.12, "8/255",
       "wide_resnet", CIFAR10, depth=34, width=10)
_entry("cifar10/linf", "Cui2020Learnable_34_20", "WideResNet-34-20", 88.70, 53.57, "0.031",
       "wide_resnet", NONE, depth=34, width=20)
_entry("cifar10/linf", "Cui2020Learnable_34_10", "WideResNet-34-10", 88.22, 52.86, "0.031",
       "wide_resnet", NONE, depth=34, width=10)
_entry("cifar10/linf", "Zhang2020Geometry", "WideResNet-28-10", 89.36, 59.64, "8/255",
       "wide_resnet", NONE, depth=28, width=10)
_entry("cifar10/linf", "Rebuffi2021Fixing_28_10_cutmix_ddpm", "WideResNet-28-10", 87.33, 60.75, "8/255",
       "dm_wide_resnet", CIFAR10, depth=28, width=10)
_entry("cifar10/linf", "Rebuffi2021Fixing_106_16_cutmix_ddpm", "WideResNet-106-16", 88.50, 64.64, "8/255",
       "dm_wide_resnet", CIFAR10, depth=106, width=16)
_entry("cifar10/linf", "Rebuffi2021Fixing_70_16_cutmix_ddpm", "WideResNet-70-16", 88.54, 64.25, "8/255",
       "dm_wide_resnet", CIFAR10, depth=70, width=16)
_entry("cifar10/linf", "Rebuffi2021Fixing_70_16_cutmix_extra", "WideResNet-70-16", 92.23, 66.58, "8/255",
       "dm_wide_resnet", CIFAR10, depth=70, width=16)
_entry("cifar10/linf", "Sridhar2021Robust", "WideResNet-28-10", 89.46, 59.66, "8/255",
       "wide_resnet", NONE, depth=28, width=10)
_entry("cifar10/linf", "Sridhar2021Robust_34_15", "WideResNet-34-15", 86.53, 60.41, "8/255",
       "wide_resnet", NONE, depth=34, width=15)
_entry("cifar10/linf", "Rebuffi2021Fixing_R18_ddpm", "PreActResNet-18", 83.53, 56.66, "8/255",
       "dm_preact_resnet", CIFAR10)
_entry("cifar10/linf", "Rade2021Helper_R18_extra", "PreActResNet-18", 89.02, 57.67, "8/255",
       "dm_preact_resnet", CIFAR10)
_entry("cifar10/linf", "Rade2021Helper_R18_ddpm", "PreActResNet-18", 86.86, 57.09, "8/255",
       "dm_preact_resnet", CIFAR10)
_entry("cifar10/linf", "Rade2021Helper_extra", "WideResNet-34-10", 91.47, 62.83, "8/255",
       "dm_wide_resnet", CIFAR10, depth=34, width=10)
_entry("cifar10/linf", "Rade2021Helper_ddpm", "WideResNet-28-10", 88.16, 60.97, "8/255",
       "dm_wide_resnet", CIFAR10, depth=28, width=10)
_entry("cifar10/linf", "Huang2021Exploring", "WideResNet-34-R", 90.56, 61.56, "8/255",
       "robust_wide_resnet", NONE)
_entry("cifar10/linf", "Huang2021Exploring_ema", "WideResNet-34-R", 91.23, 62.54, "8/255",
       "robust_wide_resnet", NONE)
_entry("cifar10/linf", "Addepalli2021Towards_RN18", "ResNet-18", 80.24, 51.06, "8/255",
       "cifar_resnet", NONE, depth=18)
_entry("cifar10/linf", "Addepalli2021Towards_WRN34", "WideResNet-34-10", 85.32, 58.04, "8/255",
       "wide_resnet", NONE, depth=34, width=10)
_entry("cifar10/linf", "Gowal2021Improving_70_16_ddpm_100m", "WideResNet-70-16", 88.74, 66.11, "8/255",
       "dm_wide_resnet", CIFAR10, depth=70, width=16)
_entry("cifar10/linf", "Gowal2021Improving_28_10_ddpm_100m", "WideResNet-28-10", 87.50, 63.44, "8/255",
       "dm_wide_resnet", CIFAR10, depth=28, width=10)
_entry("cifar10/linf", "Gowal2021Improving_R18_ddpm_100m", "PreActResNet-18", 87.35, 58.63, "8/255",
       "dm_preact_resnet", CIFAR10)
_entry("cifar10/linf", "Chen2021LTD_WRN34_10", "WideResNet-34-10", 85.21, 56.94, "8/255",
       "wide_resnet", NONE, depth=34, width=10)
_entry("cifar10/linf", "Chen2021LTD_WRN34_20", "WideResNet-34-20", 86.03, 57.71, "8/255",
       "wide_resnet", NONE, depth=34, width=20)
_entry("cifar10/linf", "Standard", "WideResNet-28-10", 94.78, 0.0, "8/255",
       "wide_resnet", NONE, depth=28, width=10)
_entry("cifar10/linf", "Jia2022LAS-AT_34_10", "WideResNet-34-10", 84.98, 56.26, "8/255",
       "wide_resnet", NONE, depth=34, width=10)
_entry("cifar10/linf", "Jia2022LAS-AT_70_16", "WideResNet-70-16", 85.66, 57.61, "8/255",
       "wide_resnet", NONE, depth=70, width=16)
_entry("cifar10/linf", "Pang2022Robustness_WRN28_10", "WideResNet-28-10", 88.61, 61.04, "8/255",
       "dm_wide_resnet", CIFAR10, depth=28, width=10)
_entry("cifar10/linf", "Pang2022Robustness_WRN70_16", "WideResNet-70-16", 89.01, 63.35, "8/255",
       "dm_wide_resnet", CIFAR10, depth=70, width=16)
_entry("cifar10/linf", "Addepalli2022Efficient_RN18", "ResNet-18", 85.71, 52.48, "8/255",
       "cifar_resnet", NONE, depth=18)
_entry("cifar10/linf", "Addepalli2022Efficient_WRN_34_10", "WideResNet-34-10", 88.71, 57.81, "8/255",
       "wide_resnet", NONE, depth=34, width=10)

# cifar10/l2
_entry("cifar10/l2", "Augustin2020Adversarial", "ResNet-50", 91.08, 72.91, "0.5",
       "cifar_resnet", CIFAR10_AUGUSTIN, depth=50)
_entry("cifar10/l2", "Engstrom2019Robustness", "ResNet-50", 90.83, 69.24, "0.5",
       "cifar_resnet", CIFAR10_MADRYLAB, depth=50)
_entry("cifar10/l2", "Rice2020Overfitting", "PreActResNet-18", 88.67, 67.68, "0.5",
       "preact_resnet18", CIFAR10)
_entry("cifar10/l2", "Rony2019Decoupling", "WideResNet-28-10", 89.05, 66.44, "0.5",
       "wide_resnet", CIFAR10_RONY, depth=28, width=10)
_entry("cifar10/l2", "Standard", "WideResNet-28-10", 94.78, 0.0, "0.5",
       "wide_resnet", NONE, depth=28, width=10)
_entry("cifar10/l2", "Ding2020MMA", "WideResNet-28-4", 88.02, 66.09, "0.5",
       "wide_resnet", NONE, depth=28, width=4, per_image_standardization=True)
_entry("cifar10/l2", "Wu2020Adversarial", "WideResNet-34-10", 88.51, 73.66, "0.5",
       "wide_resnet", NONE, depth=34, width=10)
_entry("cifar10/l2", "Gowal2020Uncovering", "WideResNet-70-16", 90.90, 74.50, "0.5",
       "dm_wide_resnet", CIFAR10, depth=70, width=16)
_entry("cifar10/l2", "Gowal2020Uncovering_extra", "WideResNet-70-16", 94.74, 80.53, "0.5",
       "dm_wide_resnet", CIFAR10, depth=70, width=16)
_entry("cifar10/l2", "Sehwag2021Proxy", "WideResNet-34-10", 90.93, 77.24, "0.5",
       "wide_resnet", NONE, depth=34, width=10)
_entry("cifar10/l2", "Sehwag2021Proxy_R18", "ResNet-18", 89.76, 74.41, "0.5",
       "cifar_resnet", NONE, depth=18)
_entry("cifar10/l2", "Rebuffi2021Fixing_70_16_cutmix_ddpm", "WideResNet-70-16", 92.41, 80.42, "0.5",
       "dm_wide_resnet", CIFAR10, depth=70, width=16)
_entry("cifar10/l2", "Rebuffi2021Fixing_28_10_cutmix_ddpm", "WideResNet-28-10", 91.79, 78.80, "0.5",
       "dm_wide_resnet", CIFAR10, depth=28, width=10)
_entry("cifar10/l2", "Rebuffi2021Fixing_70_16_cutmix_extra", "WideResNet-70-16", 95.74, 82.32, "0.5",
       "dm_wide_resnet", CIFAR10, depth=70, width=16)
_entry("cifar10/l2", "Augustin2020Adversarial_34_10", "WideResNet-34-10", 92.23, 76.25, "0.5",
       "wide_resnet", CIFAR10_AUGUSTIN, depth=34, width=10)
_entry("cifar10/l2", "Augustin2020Adversarial_34_10_extra", "WideResNet-34-10", 93.96, 78.79, "0.5",
       "wide_resnet", CIFAR10_AUGUSTIN, depth=34, width=10)
_entry("cifar10/l2", "Rebuffi2021Fixing_R18_cutmix_ddpm", "PreActResNet-18", 90.33, 75.86, "0.5",
       "dm_preact_resnet", CIFAR10)
_entry("cifar10/l2", "Rade2021Helper_R18_ddpm", "PreActResNet-18", 90.57, 76.15, "0.5",
       "dm_preact_resnet", CIFAR10)

# cifar100/linf
_entry("cifar100/linf", "Gowal2020Uncovering", "WideResNet-70-16", 60.86, 30.03, "8/255",
       "dm_wide_resnet", CIFAR100, depth=70, width=16)
_entry("cifar100/linf", "Gowal2020Uncovering_extra", "WideResNet-70-16", 69.15, 36.88, "8/255",
       "dm_wide_resnet", CIFAR100, depth=70, width=16)
_entry("cifar100/linf", "Cui2020Learnable_34_20_LBGAT6", "WideResNet-34-20", 62.55, 30.20, "8/255",
       "wide_resnet", NONE, depth=34, width=20)
_entry("cifar100/linf", "Cui2020Learnable_34_10_LBGAT0", "WideResNet-34-10", 70.25, 27.16, "8/255",
       "wide_resnet", NONE, depth=34, width=10)
_entry("cifar100/linf", "Cui2020Learnable_34_10_LBGAT6", "WideResNet-34-10", 60.64, 29.33, "8/255",
       "wide_resnet", NONE, depth=34, width=10)
_entry("cifar100/linf", "Chen2020Efficient", "WideResNet-34-10", 62.15, 26.94, "8/255",
       "wide_resnet", CIFAR100_CHEN, depth=34, width=10)
_entry("cifar100/linf", "Wu2020Adversarial", "WideResNet-34-10", 60.38, 28.86, "8/255",
       "wide_resnet", CIFAR100_WU, depth=34, width=10)
_entry("cifar100/linf", "Sehwag2021Proxy", "WideResNet-34-10", 65.93, 31.15, "8/255",
       "wide_resnet", NONE, depth=34, width=10)
_entry("cifar100/linf", "Sitawarin2020Improving", "WideResNet-34-10", 62.82, 24.57, "8/255",
       "wide_resnet", NONE, depth=34, width=10)
_entry("cifar100/linf", "Hendrycks2019Using", "WideResNet-28-10", 59.23, 28.42, "8/255",
       "wide_resnet", HALF, depth=28, width=10)
_entry("cifar100/linf", "Rice2020Overfitting", "PreActResNet-18", 53.83, 18.95, "8/255",
       "preact_resnet18", CIFAR100_WU)
_entry("cifar100/linf", "Rebuffi2021Fixing_70_16_cutmix_ddpm", "WideResNet-70-16", 63.56, 34.64, "8/255",
       "dm_wide_resnet", CIFAR100, depth=70, width=16)
_entry("cifar100/linf", "Rebuffi2021Fixing_28_10_cutmix_ddpm", "WideResNet-28-10", 62.41, 32.06, "8/255",
       "dm_wide_resnet", CIFAR100, depth=28, width=10)
_entry("cifar100/linf", "Rebuffi2021Fixing_R18_ddpm", "PreActResNet-18", 56.87, 28.50, "8/255",
       "dm_preact_resnet", CIFAR100)
_entry("cifar100/linf", "Rade2021Helper_R18_ddpm", "PreActResNet-18", 61.50, 28.88, "8/255",
       "dm_preact_resnet", CIFAR100)
_entry("cifar100/linf", "Addepalli2021Towards_PARN18", "PreActResNet-18", 62.02, 27.14, "8/255",
       "preact_resnet18", NONE)
_entry("cifar100/linf", "Addepalli2021Towards_WRN34", "WideResNet-34-10", 65.73, 30.35, "8/255",
       "wide_resnet", NONE, depth=34, width=10)
_entry("cifar100/linf", "Chen2021LTD_WRN34_10", "WideResNet-34-10", 64.07, 30.59, "8/255",
       "wide_resnet", NONE, depth=34, width=10)
_entry("cifar100/linf", "Pang2022Robustness_WRN28_10", "WideResNet-28-10", 63.66, 31.08, "8/255",
       "dm_wide_resnet", CIFAR100, depth=28, width=10)
_entry("cifar100/linf", "Pang2022Robustness_WRN70_16", "WideResNet-70-16", 65.56, 33.05, "8/255",
       "dm_wide_resnet", CIFAR100, depth=70, width=16)
_entry("cifar100/linf", "Jia2022LAS-AT_34_10", "WideResNet-34-10", 64.89, 30.77, "8/255",
       "wide_resnet", NONE, depth=34, width=10)
_entry("cifar100/linf", "Jia2022LAS-AT_34_20", "WideResNet-34-20", 67.31, 31.91, "8/255",
       "wide_resnet", NONE, depth=34, width=20)
_entry("cifar100/linf", "Addepalli2022Efficient_RN18", "ResNet-18", 65.45, 27.67, "8/255",
       "cifar_resnet", NONE, depth=18)
_entry("cifar100/linf", "Addepalli2022Efficient_WRN_34_10", "WideResNet-34-10", 68.75, 31.85, "8/255",
       "wide_resnet", NONE, depth=34, width=10)

# imagenet/linf (torchvision's ResNets inside RobustBench's normalize_model)
_entry("imagenet/linf", "Wong2020Fast", "ResNet-50", 55.62, 26.24, "4/255",
       "resnet", IMAGENET, input_size=288, depth=50)  # RobustBench: "requires resolution 288"
_entry("imagenet/linf", "Engstrom2019Robustness", "ResNet-50", 62.56, 29.22, "4/255",
       "resnet", IMAGENET, depth=50)
_entry("imagenet/linf", "Salman2020Do_R50", "ResNet-50", 64.02, 34.96, "4/255",
       "resnet", IMAGENET, depth=50)
_entry("imagenet/linf", "Salman2020Do_R18", "ResNet-18", 52.92, 25.32, "4/255",
       "resnet", IMAGENET, depth=18)
_entry("imagenet/linf", "Salman2020Do_50_2", "WideResNet-50-2", 68.46, 38.14, "4/255",
       "resnet", IMAGENET, depth=50, width_multiplier=2)
_entry("imagenet/linf", "Standard_R50", "ResNet-50", 76.52, 0.0, "4/255",
       "resnet", IMAGENET, depth=50)

# RobustBench 1.1.1 entries (CIFAR-10, CIFAR-100, ImageNet; Linf and L2) that `load` refuses.
UNSUPPORTED = {
    "cifar10/linf/Chen2020Adversarial": "an ensemble of three ResNet-50s whose softmax "
                                        "outputs are averaged (three checkpoints)",
    "cifar10/linf/Pang2020Boosting": "BoostingWideResNet's hypersphere head (normalized "
                                     "features and weights, a scaled cosine)",
    "cifar10/linf/Sehwag2021Proxy_ResNest152": "the ResNeSt-152 architecture (split attention)",
    "cifar10/linf/Dai2021Parameterizing": "the PSSiLU parametric activation (PAF_WideResNet)",
}
