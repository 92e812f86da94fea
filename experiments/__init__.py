"""Experiment binaries (`python -m experiments.NAME`) and their configs.

Importing this package turns on JAX's persistent compilation cache, so every
binary (and `python -m bench`, which imports it) compiles a program once per
machine: a second run of the same command reads the compiled XLA programs back
instead of compiling them again. The cache lives in
`~/.cache/jaxrobust/jax` unless `$JAX_COMPILATION_CACHE_DIR` names another
folder; `JAX_ENABLE_COMPILATION_CACHE=false` turns it off (both are JAX's own
settings, read by JAX itself).
"""

from __future__ import annotations

import os

import jax

DEFAULT_CACHE_DIR = os.path.join("~", ".cache", "jaxrobust", "jax")
# Programs that compile faster than this are not worth a disk read. JAX's default
# (1 s) would leave out the many small eval and metric programs that together
# make up most of a short run's compile time.
MIN_COMPILE_SECONDS = 0.2


def enable_compilation_cache() -> str | None:
  """Points JAX's persistent compilation cache at its folder; returns the folder.

  `$JAX_COMPILATION_CACHE_DIR` (or an earlier `jax.config.update`) wins over
  the default; returns None when the cache is turned off.
  """
  if not jax.config.jax_enable_compilation_cache:
    return None
  cache_dir = jax.config.jax_compilation_cache_dir or os.path.expanduser(DEFAULT_CACHE_DIR)
  jax.config.update("jax_compilation_cache_dir", cache_dir)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
  return cache_dir


enable_compilation_cache()
