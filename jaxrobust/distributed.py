"""Multi-host start-up: join JAX's distributed runtime before any computation.

Every process of a multi-host run (a TPU pod slice, GPU nodes, several CPU
processes) calls `initialize` once, first thing; afterwards `jax.devices()`
lists the devices of all processes, and the meshes of
`jaxrobust.sharding` span them. A single process leaves it unset and
nothing happens.

Binaries define `--coordinator_address`, `--num_processes` and `--process_id`
with `define_flags()` and pass the parsed values to `initialize` (the library
never reads flags itself; `experiments.train` shows the two lines). Unset
flags fall back to the environment variables JAX_COORDINATOR_ADDRESS,
JAX_NUM_PROCESSES and JAX_PROCESS_ID; with none of them set, `initialize`
with auto=True lets `jax.distributed.initialize()` detect the cluster itself
(Cloud TPU, SLURM, Open MPI, Kubernetes).

References: JAX, "Introduction to multi-controller JAX" (docs.jax.dev).
"""

from __future__ import annotations

import os

import jax

ENV = {"coordinator_address": "JAX_COORDINATOR_ADDRESS",
       "num_processes": "JAX_NUM_PROCESSES", "process_id": "JAX_PROCESS_ID"}


def define_flags() -> None:
  """Defines --coordinator_address, --num_processes, --process_id and --distributed (absl);
  once per process, so several binaries' define_flags may call it."""
  from absl import flags  # pylint: disable=import-outside-toplevel
  if "coordinator_address" in flags.FLAGS:
    return
  flags.DEFINE_string("coordinator_address", None,
                      "host:port of process 0 in a multi-host run (env JAX_COORDINATOR_ADDRESS).")
  flags.DEFINE_integer("num_processes", None,
                       "Processes in a multi-host run (env JAX_NUM_PROCESSES).")
  flags.DEFINE_integer("process_id", None,
                       "This process's index in [0, num_processes) (env JAX_PROCESS_ID).")
  flags.DEFINE_bool("distributed", False,
                    "Join a cluster that jax.distributed.initialize() detects by itself "
                    "(Cloud TPU pod slices, SLURM, Open MPI) without the three flags above.")


def _int(name: str, value) -> int | None:
  if value is None or value == "":
    return None
  if isinstance(value, (bool, float)):
    raise ValueError(f"{name} must be an integer, got {value!r}.")
  try:
    return int(value)
  except (TypeError, ValueError):
    raise ValueError(f"{name} must be an integer, got {value!r}.") from None


def _check_address(address) -> None:
  """host:port with a non-empty host and a port in [1, 65535] ("[::1]:1234" for IPv6)."""
  must = "coordinator_address must be host:port (a host name or IP, and a port in [1, 65535])"
  if not isinstance(address, str) or ":" not in address:
    raise ValueError(f"{must}, got {address!r}.")
  host, port = address.rsplit(":", 1)
  if not host or host in ("[]",) or not port.isdigit() or not 1 <= int(port) <= 65535:
    raise ValueError(f"{must}, got {address!r}.")


def settings(coordinator_address: str | None = None, num_processes: int | None = None,
             process_id: int | None = None) -> dict | None:
  """The checked arguments of jax.distributed.initialize (arguments first, then the
  environment), or None when none is set (a single-process run).

  Raises ValueError when only some are set or a value is out of range.
  """
  given = {"coordinator_address": coordinator_address, "num_processes": num_processes,
           "process_id": process_id}
  values = {k: v if v not in (None, "") else os.environ.get(ENV[k]) or None
            for k, v in given.items()}
  values["num_processes"] = _int("num_processes", values["num_processes"])
  values["process_id"] = _int("process_id", values["process_id"])
  missing = [k for k, v in values.items() if v is None]
  if len(missing) == 3:
    return None
  if missing:
    raise ValueError(f"a multi-host run needs coordinator_address, num_processes and "
                     f"process_id; missing {missing} (flags --{' --'.join(missing)} or "
                     f"environment {', '.join(ENV[k] for k in missing)}).")
  _check_address(values["coordinator_address"])
  if values["num_processes"] < 1:
    raise ValueError(f"num_processes must be >= 1, got {values['num_processes']}.")
  if not 0 <= values["process_id"] < values["num_processes"]:
    raise ValueError(f"process_id must be in [0, {values['num_processes']}), got "
                     f"{values['process_id']}.")
  return values


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, *, auto: bool = False) -> bool:
  """Joins the distributed runtime when a multi-host run is configured; returns
  whether it did (False: a single process, nothing to do).

  Must run before any other JAX call of the process (jax.distributed's rule).
  auto: with nothing configured, call jax.distributed.initialize() without
  arguments so JAX detects the cluster (TPU pods, SLURM, Open MPI).
  """
  if not isinstance(auto, bool):
    raise TypeError(f"auto must be True or False, got {auto!r}.")
  if jax.distributed.is_initialized():
    return True
  values = settings(coordinator_address, num_processes, process_id)
  if values is None and not auto:
    return False
  if values is not None and values["num_processes"] == 1:
    return False
  jax.distributed.initialize(**(values or {}))
  return True


def initialize_from_flags(flag_values) -> bool:
  """`initialize` with the values of `define_flags`' flags (the parsed absl FLAGS
  a binary passes in; flags not defined count as unset)."""
  if not all(hasattr(flag_values, a) for a in ("__contains__", "__getitem__")):
    raise TypeError(f"flag_values must be the parsed absl FLAGS (flags.FLAGS), got "
                    f"{type(flag_values).__name__}.")
  get = lambda name, default=None: (flag_values[name].value if name in flag_values
                                    else default)
  return initialize(get("coordinator_address"), get("num_processes"), get("process_id"),
                    auto=bool(get("distributed", False)))


def is_main_process() -> bool:
  """Whether this process writes reports and figures (process 0)."""
  return jax.process_index() == 0
