"""Pretext tasks by name: one file each plus one line here."""

from __future__ import annotations

from typing import Mapping

import jax

from jaxrobust import _checks
from jaxrobust.registry import Registry
from jaxrobust.selfsup.pretext._base import PretextTask
from jaxrobust.selfsup.pretext.brightness import Brightness
from jaxrobust.selfsup.pretext.color import Color
from jaxrobust.selfsup.pretext.contrast import Contrast
from jaxrobust.selfsup.pretext.posterize import Posterize
from jaxrobust.selfsup.pretext.rotation import Rotation
from jaxrobust.selfsup.pretext.sharpness import Sharpness
from jaxrobust.selfsup.pretext.solarize import Solarize

PRETEXT_TASKS = Registry("pretext task")
PRETEXT_TASKS.register("rotation", Rotation)
PRETEXT_TASKS.register("sharpness", Sharpness)
PRETEXT_TASKS.register("solarize", Solarize)
PRETEXT_TASKS.register("posterize", Posterize)
PRETEXT_TASKS.register("contrast", Contrast)
PRETEXT_TASKS.register("brightness", Brightness)
PRETEXT_TASKS.register("color", Color)


def make_views(tasks: Mapping[str, PretextTask], images: jax.Array, key: jax.Array
               ) -> tuple[jax.Array, jax.Array]:
  """Mixes the tasks' transforms on one batch: tasks {name: task}
  (`PRETEXT_TASKS.make_all(spec)`); labels int32 [tasks, batch] drawn from
  fold_in(key, task index), transforms applied in the tasks' order.

  Returns (views [batch, h, w, c], labels [tasks, batch]). Deterministic per key.
  """
  if not isinstance(tasks, Mapping) or not len(tasks) or not all(
      isinstance(t, PretextTask) for t in tasks.values()):
    raise TypeError(f"tasks must be a non-empty mapping {{name: PretextTask}} "
                    f"(PRETEXT_TASKS.make_all), got {tasks!r}.")
  _checks.check_ndim("images", images, ("batch", "height", "width", "channels"))
  _checks.check_unit_images("images", images)
  labels = []
  for i, task in enumerate(tasks.values()):
    y = task.sample(jax.random.fold_in(key, i), images.shape[0])
    images = task.apply(images, y)
    labels.append(y)
  return images, jax.numpy.stack(labels)
