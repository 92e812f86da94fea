"""Pretext tasks by name: one file each plus one line here."""

from __future__ import annotations

from typing import Any, Sequence

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


def make(name: str, /, **options: Any) -> PretextTask:
  return PRETEXT_TASKS.make(name, **options)


def build_tasks(spec: Sequence[Any]) -> tuple[tuple[str, PretextTask], ...]:
  """Names or {"name": ..., **options} sections -> ((name, task), ...), names unique."""
  if isinstance(spec, str) or not len(spec):
    raise ValueError(f"tasks must be a non-empty sequence of task names or sections "
                     f"(one of {PRETEXT_TASKS.names()}), got {spec!r}.")
  built = [(s, PRETEXT_TASKS.make(s)) if isinstance(s, str) else
           (dict(s)["name"], PRETEXT_TASKS.from_config(s)) for s in spec]
  names = [n for n, _ in built]
  if len(set(names)) != len(names):
    raise ValueError(f"each pretext task may appear once, got {names}.")
  return tuple(built)


def make_views(tasks: Sequence[tuple[str, PretextTask]], images: jax.Array, key: jax.Array
               ) -> tuple[jax.Array, jax.Array]:
  """Mixes the tasks' transforms on one batch: labels int32 [tasks, batch] drawn from
  fold_in(key, task index), transforms applied in the tasks' order.

  Returns (views [batch, h, w, c], labels [tasks, batch]). Deterministic per key.
  """
  if isinstance(tasks, (str, bytes)) or not len(tasks) or not all(
      isinstance(t, tuple) and len(t) == 2 and isinstance(t[1], PretextTask) for t in tasks):
    raise TypeError(f"tasks must be a non-empty sequence of (name, PretextTask) pairs "
                    f"(build_tasks), got {tasks!r}.")
  _checks.check_ndim("images", images, ("batch", "height", "width", "channels"))
  _checks.check_unit_images("images", images)
  labels = []
  for i, (_, task) in enumerate(tasks):
    y = task.sample(jax.random.fold_in(key, i), images.shape[0])
    images = task.apply(images, y)
    labels.append(y)
  return images, jax.numpy.stack(labels)
