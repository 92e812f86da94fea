"""Pretext tasks of MP-SSL / IE-Rot: rotation and image enhancements, as pure transforms."""

from jaxrobust.selfsup.pretext._base import PretextTask, blend, grayscale
from jaxrobust.selfsup.pretext.brightness import Brightness, brighten
from jaxrobust.selfsup.pretext.color import Color, saturate
from jaxrobust.selfsup.pretext.contrast import Contrast, contrast
from jaxrobust.selfsup.pretext.posterize import Posterize, posterize
from jaxrobust.selfsup.pretext.registry import PRETEXT_TASKS, make_views
from jaxrobust.selfsup.pretext.rotation import Rotation, rotate90
from jaxrobust.selfsup.pretext.sharpness import Sharpness, sharpen, smooth
from jaxrobust.selfsup.pretext.solarize import Solarize, solarize
