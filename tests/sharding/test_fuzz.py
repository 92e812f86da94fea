"""Bad input at every public entry of jaxrobust.sharding and jaxrobust.distributed: a clear
error naming the argument.

CASES keys are "sharding.<entry>:<what is bad>" or "distributed.<entry>:<what is bad>"; each
value is (call, error type, words the message must contain). This process has one device:
a mesh of 4 "devices" for the member-count cases is that device 4 times, built with
jax.sharding.Mesh directly (our builders refuse it, see "data_mesh:same_device_twice"); the
check under test fails before anything is placed.
"""

import jax
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxrobust import distributed, sharding
from tests.bad_input import assert_clear_error

DEVICE = jax.devices()[0]
MESH = sharding.data_mesh()
FOUR_MODELS = Mesh(np.array([DEVICE] * 4).reshape(4, 1), (sharding.MODEL, sharding.DATA))


@pytest.fixture(autouse=True)
def _no_cluster_environment(monkeypatch):
  for name in distributed.ENV.values():
    monkeypatch.delenv(name, raising=False)


def _settings(address="localhost:1234", processes=2, process=0):
  return lambda: distributed.settings(address, processes, process)


CASES = {
    # meshes
    "sharding.data_mesh:same_device_twice": (lambda: sharding.data_mesh([DEVICE, DEVICE]),
                                             ValueError, ["devices", "distinct", "more than once"]),
    "sharding.data_mesh:no_devices": (lambda: sharding.data_mesh([]), ValueError,
                                      ["at least one device"]),
    "sharding.data_mesh:not_devices": (lambda: sharding.data_mesh([0, 1]), TypeError,
                                       ["devices", "jax devices", "0"]),
    "sharding.data_mesh:string": (lambda: sharding.data_mesh("cpu"), TypeError,
                                  ["devices", "sequence", "'cpu'"]),
    "sharding.population_mesh:same_device_twice": (
        lambda: sharding.population_mesh(2, devices=[DEVICE, DEVICE]), ValueError,
        ["devices", "distinct"]),
    "sharding.population_mesh:members_zero": (lambda: sharding.population_mesh(0), ValueError,
                                              ["members", ">= 1", "0"]),
    "sharding.population_mesh:members_bool": (lambda: sharding.population_mesh(True),
                                              ValueError, ["members", "True"]),
    "sharding.population_mesh:members_float": (lambda: sharding.population_mesh(2.0),
                                               ValueError, ["members", "2.0"]),
    "sharding.population_mesh:model_not_dividing": (
        lambda: sharding.population_mesh(3, model=2), ValueError,
        ["model axis", "1 devices", "3 members", "[1]"]),
    # sizes
    "sharding.data_size:not_a_mesh": (lambda: sharding.data_size(None), TypeError,
                                      ["mesh", "jax.sharding.Mesh", "NoneType"]),
    "sharding.model_size:not_a_mesh": (lambda: sharding.model_size("data"), TypeError,
                                       ["mesh", "Mesh", "str"]),
    "sharding.padded_to:multiple_zero": (lambda: sharding.padded_to(10, 0), ValueError,
                                         ["multiple", ">= 1", "0"]),
    "sharding.padded_to:n_negative": (lambda: sharding.padded_to(-3, 4), ValueError,
                                      ["n", ">= 0", "-3"]),
    "sharding.padded_to:n_float": (lambda: sharding.padded_to(2.5, 4), ValueError,
                                   ["n", "2.5"]),
    # placing
    "sharding.shard_members:3_members_over_4_devices": (
        lambda: sharding.shard_members(FOUR_MODELS, {"w": np.zeros((3, 2))}), ValueError,
        ["3 members", "4 devices", "model axis", "population_mesh(3)"]),
    "sharding.shard_members:ragged_members": (
        lambda: sharding.shard_members(MESH, {"w": np.zeros((3, 2)), "b": np.zeros(2)}),
        ValueError, ["[members, ...]", "[2, 3]"]),
    "sharding.shard_members:not_a_mesh": (lambda: sharding.shard_members(None, {}), TypeError,
                                          ["mesh", "Mesh"]),
    "sharding.shard_member_batch:3_members_over_4_devices": (
        lambda: sharding.shard_member_batch(FOUR_MODELS, np.zeros((3, 4, 2))), ValueError,
        ["3 members", "4 devices of the model axis"]),
    "sharding.shard_batch:not_a_mesh": (lambda: sharding.shard_batch(None, np.zeros(4)),
                                        TypeError, ["mesh", "Mesh"]),
    "sharding.shard_batch:scalar": (lambda: sharding.shard_batch(MESH, np.float32(1.0)),
                                    ValueError, ["Batch of shape", "()", "divisible"]),
    "sharding.shard_local_batch:not_a_mesh": (
        lambda: sharding.shard_local_batch([DEVICE], np.zeros(4)), TypeError, ["mesh", "list"]),
    "sharding.host_rows:batch_zero": (lambda: sharding.host_rows(MESH, 0), ValueError,
                                      ["batch", ">= 1", "0"]),
    "sharding.put:not_a_sharding": (lambda: sharding.put({"w": np.zeros(2)}, DEVICE), TypeError,
                                    ["shardings", "jax.sharding.Sharding"]),
    "sharding.put:tree_with_a_spec": (
        lambda: sharding.put({"w": np.zeros(2)}, {"w": P()}), TypeError,
        ["shardings", "tree of them", "P()"]),
    "sharding.replicate:not_a_mesh": (lambda: sharding.replicate(DEVICE, {}), TypeError,
                                      ["mesh", "Mesh"]),
    # multi-host start-up
    "distributed.settings:no_host": (_settings(":1234"), ValueError,
                                     ["coordinator_address", "host:port", "':1234'"]),
    "distributed.settings:no_port": (_settings("localhost:"), ValueError,
                                     ["coordinator_address", "'localhost:'"]),
    "distributed.settings:port_not_a_number": (_settings("localhost:http"), ValueError,
                                               ["coordinator_address", "[1, 65535]"]),
    "distributed.settings:port_out_of_range": (_settings("localhost:70000"), ValueError,
                                               ["coordinator_address", "[1, 65535]", "70000"]),
    "distributed.settings:port_zero": (_settings("localhost:0"), ValueError,
                                       ["coordinator_address", "[1, 65535]"]),
    "distributed.settings:no_colon": (_settings("localhost"), ValueError,
                                      ["coordinator_address", "host:port"]),
    "distributed.settings:num_processes_zero": (_settings(processes=0), ValueError,
                                                ["num_processes", ">= 1", "0"]),
    "distributed.settings:num_processes_float": (_settings(processes=2.5), ValueError,
                                                 ["num_processes", "integer", "2.5"]),
    "distributed.settings:num_processes_bool": (_settings(processes=True), ValueError,
                                                ["num_processes", "integer", "True"]),
    "distributed.settings:process_id_out_of_range": (_settings(process=2), ValueError,
                                                     ["process_id", "[0, 2)", "2"]),
    "distributed.settings:process_id_text": (_settings(process="one"), ValueError,
                                             ["process_id", "integer", "'one'"]),
    "distributed.settings:partial": (lambda: distributed.settings("localhost:1234"), ValueError,
                                     ["missing", "num_processes", "process_id"]),
    "distributed.initialize:no_host": (lambda: distributed.initialize(":1234", 2, 0),
                                       ValueError, ["coordinator_address", "':1234'"]),
    "distributed.initialize_from_flags:not_flags": (
        lambda: distributed.initialize_from_flags(None), TypeError,
        ["flag_values", "absl FLAGS", "NoneType"]),
    "distributed.initialize:auto_not_bool": (lambda: distributed.initialize(auto="yes"),
                                             TypeError, ["auto", "True or False", "'yes'"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_clearly(case):
  call, error, words = CASES[case]
  assert_clear_error(call, error, words)


def test_valid_settings_and_meshes_still_pass():
  """An IPv6 coordinator, a single process, a mesh of every device and a divisible population."""
  assert distributed.settings("[::1]:8476", 2, 1)["coordinator_address"] == "[::1]:8476"
  assert distributed.settings() is None
  assert sharding.data_size(sharding.data_mesh(jax.devices())) == len(jax.devices())
  members = sharding.shard_members(sharding.population_mesh(3),
                                   {"w": np.zeros((3, 2)), "step": np.int32(0)})
  assert members["w"].shape == (3, 2)
  assert isinstance(members["w"].sharding, NamedSharding)
  assert members["w"].sharding.spec == P(sharding.MODEL)
