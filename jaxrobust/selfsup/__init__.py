"""Self-supervised learning by multiple pretext tasks (MP-SSL / IE-Rot).

Pretext tasks (`pretext.PRETEXT_TASKS`, one file each): rotation, sharpness, solarize,
posterize, contrast, brightness, color. Tasks are weighted uniformly or by the
Frank-Wolfe min-norm solver (`min_norm`).
"""

from jaxrobust.selfsup import pretext
from jaxrobust.selfsup.linear_eval import linear_probe
from jaxrobust.selfsup.min_norm import line_search, min_norm_from_gradients, min_norm_weights
from jaxrobust.selfsup.network import MultiTaskNet, build_encoder
from jaxrobust.selfsup.pretext import PRETEXT_TASKS, make_views
from jaxrobust.selfsup.training import (WEIGHTINGS, PretextResult, combine, encode,
                                        fit_pretext)
