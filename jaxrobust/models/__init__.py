"""Flax models; normalization is a layer inside each model (inputs in [0, 1])."""

from jaxrobust.models.cnn import SmallCNN
from jaxrobust.models.fold import fold_batchnorm
from jaxrobust.models.forecast import ForecastMLP
from jaxrobust.models.heads import HEADS, apply_head, bounded_logit, log_sigsoftmax
from jaxrobust.models.layers import ACTIVATIONS, Normalize
from jaxrobust.models.randomized import (NOISE, BayesConv, BayesDense, GaussianNoise,
                                         RandomizedCNN, RandomResizePad, add_kl_gradient,
                                         as_randomized_logits_fn, kl_divergence,
                                         sample_logits_fn)
from jaxrobust.models.registry import MODELS, as_logits_fn, make
from jaxrobust.models.resnet import (DMPreActResNet, DMWideResNet, PreActResNet18,
                                     RobustWideResNet, WideResNet)
from jaxrobust.models.resnet_torchvision import CifarResNet, ResNet
from jaxrobust.models.simple import MLP, Linear
from jaxrobust.models.speech import MFCCCNN, MFCCGRU, LogMelCNN, WaveCNN
