"""The imputers' registry: `IMPUTERS.make(name, **options)`; an unknown name or option
is an error that names the valid ones."""

from jaxrobust.generative.cycle import CycleImputer
from jaxrobust.generative.gain import GAIN
from jaxrobust.generative.imputers import SklearnImputer
from jaxrobust.registry import Registry

IMPUTERS = Registry("imputer")
# One builder per kind, so each name accepts only its own options.
IMPUTERS.register("mean", lambda: SklearnImputer("mean"))
IMPUTERS.register("knn", lambda n_neighbors=5: SklearnImputer("knn", n_neighbors=n_neighbors))
IMPUTERS.register("iterative", lambda max_iter=10, n_nearest_features=None: SklearnImputer(
    "iterative", max_iter=max_iter, n_nearest_features=n_nearest_features))
IMPUTERS.register("gain", GAIN)
IMPUTERS.register("cycle", CycleImputer)
