"""The RobustBench model zoo: published robust models by name, from local checkpoints.

    model, variables, entry = zoo.load("Carmon2019Unlabeled", path="Carmon2019Unlabeled.pt")
    logits_fn = jaxrobust.models.as_logits_fn(model, variables)
    entry.autoattack_accuracy  # the leaderboard's figure, to set ours beside

It lives in `models` (floor 1) because an entry is a model: an architecture, its
options and its input normalization; the leaderboard figures ride along.
"""

from jaxrobust.models.zoo.entry import DATASETS, THREAT_MODELS, ZooEntry
from jaxrobust.models.zoo.load import build, find, load
from jaxrobust.models.zoo.registry import UNSUPPORTED, ZOO

__all__ = ["DATASETS", "THREAT_MODELS", "UNSUPPORTED", "ZOO", "ZooEntry", "build", "find",
           "load"]
