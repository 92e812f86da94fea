"""Data parallelism over simulated devices equals the single-device run.

JAX fixes its devices at start-up, so the 8-device checks run in one
subprocess (`_worker.py devices`, XLA_FLAGS=--xla_force_host_platform_device_count=8)
that also computes each reference on a mesh of one of its devices; this
process (one device) writes and reads the checkpoints that cross device
counts. Measured differences sharded vs one device, PGD-AT and population
steps: <= 3e-8 in the parameters (the batch mean's all-reduce sums in
another order); the attacks' per-example results are identical (their random
draws do not depend on the sharding).

Slow tier: two processes on localhost joined by jax.distributed.initialize,
4 devices each (~45 s of CPU), and AutoAttack's standard components.
"""

import json
import os
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from jaxrobust import distributed
from jaxrobust import sharding
from jaxrobust.train.checkpoint import Checkpointer
from tests.sharding import _worker

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RTOL, ATOL = 1e-5, 1e-6  # float32 reassociation of the batch-mean gradient, 1000x the measured


def _worker_process(args, devices: int, timeout: int = 900) -> subprocess.Popen:
  env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
         "PYTHONPATH": ROOT, "JAX_PLATFORMS": "cpu"}
  return subprocess.Popen([sys.executable, "-m", "tests.sharding._worker", *args], cwd=ROOT,
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen, timeout: int = 900) -> None:
  out, _ = proc.communicate(timeout=timeout)
  assert proc.returncode == 0, f"worker failed:\n{out[-4000:]}"


def _load(directory, name):
  with np.load(os.path.join(directory, name)) as f:
    return {k: f[k] for k in f.files}


def _assert_close(a: dict, b: dict, exact: bool = False) -> None:
  assert sorted(a) == sorted(b)
  for k in a:
    if exact:
      np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    else:
      np.testing.assert_allclose(a[k], b[k], rtol=RTOL, atol=ATOL, err_msg=k)


@pytest.fixture(scope="module")
def eight(tmp_path_factory):
  """The worker's results on 8 devices; it restored this process's checkpoint."""
  out = str(tmp_path_factory.mktemp("eight"))
  writer = Checkpointer(os.path.join(out, "ckpt_1"), {"t": 1})
  writer.save(1, _worker.checkpoint_tree())
  writer.close()
  _finish(_worker_process(["devices", out], 8))
  with open(os.path.join(out, "devices.json")) as f:
    return out, json.load(f)


def test_train_step_sharded_equals_one_device(eight):
  out, report = eight
  assert report["devices"] == 8
  sharded, one = _load(out, "train_sharded.npz"), _load(out, "train_one.npz")
  _assert_close(sharded, one)
  assert np.isfinite(one["loss"]) and one["loss"] > 0


def test_sharded_evaluation_same_robust_accuracy(eight):
  out, _ = eight
  sharded, one = _load(out, "eval_sharded.npz"), _load(out, "eval_one.npz")
  _assert_close(sharded, one, exact=True)
  robust = one["ens_robust"].mean()
  assert 0.2 < robust < one["ens_after_apgd-ce"].mean() + 1e-9 <= 1.0  # attacks bite
  assert one["pgd_stacked"].shape == (4, _worker.EVAL_N)
  # Smaller weights, smaller margins: the 4 stacked models differ in robustness.
  assert len(set(one["pgd_stacked"].mean(-1).round(3))) > 1
  # evaluate_models (experiments.evaluate's path) with and without its mesh: clean, PGD,
  # the ensemble and a 2-radius curve per model, equal above; attacks lower accuracy.
  clean, pgd, ens = one["report_accuracies"][:, :3].T
  assert one["report_accuracies"].shape == (2, 5)
  assert np.all(ens <= pgd) and np.all(pgd < clean)


def test_population_sharded_equals_unsharded(eight):
  out, report = eight
  assert report["population_specs"] == ["P('model',)"]  # members stay split over devices
  _assert_close(_load(out, "population_sharded.npz"), _load(out, "population_one.npz"))


def test_checkpoint_from_one_device_restores_on_eight(eight):
  out, report = eight
  assert report["restored_specs"] == {"members": ["P('model',)"], "one": ["P()"]}
  assert report["restored_devices"] == 8
  expected = {f"leaf{i}": np.asarray(a)
              for i, a in enumerate(jax.tree.leaves(_worker.checkpoint_tree()))}
  _assert_close(_load(out, "ckpt_1_on_8.npz"), expected, exact=True)


def test_checkpoint_from_eight_devices_restores_here(eight):
  out, _ = eight
  reader = Checkpointer(os.path.join(out, "ckpt_8"), {"t": 8})
  restored, meta = reader.restore(1, jax.eval_shape(_worker.checkpoint_tree))
  reader.close()
  assert meta["epoch"] == 1
  leaf = jax.tree.leaves(restored)[0]
  assert leaf.sharding.device_set <= set(jax.devices())  # on this process's devices
  _assert_close({str(i): np.asarray(a) for i, a in enumerate(jax.tree.leaves(restored))},
                {str(i): np.asarray(a)
                 for i, a in enumerate(jax.tree.leaves(_worker.checkpoint_tree()))},
                exact=True)


def test_bad_meshes_and_batches_are_refused(eight):
  _, report = eight
  errors = report["errors"]
  assert "multiple of the 8 devices" in errors["evaluator_batch"]
  assert "divisible by the 8 devices" in errors["shard_batch"]
  assert "valid sizes: [1, 2]" in errors["population_mesh"]
  assert "model axis must divide the members" in errors["population_program"]


def test_one_device_is_a_mesh_of_one():
  mesh = sharding.data_mesh()
  assert dict(mesh.shape) == {"data": len(jax.devices())}
  x = np.arange(12.0).reshape(len(jax.devices()) * 4, -1)
  (placed,) = sharding.shard_batch(mesh, x)
  np.testing.assert_array_equal(np.asarray(placed), x)
  assert sharding.host_rows(mesh, len(x)) == slice(0, len(x))
  with pytest.raises(ValueError, match="must divide"):
    sharding.population_mesh(3, 2)


def test_distributed_settings(monkeypatch):
  for name in distributed.ENV.values():
    monkeypatch.delenv(name, raising=False)
  assert distributed.settings() is None
  assert not distributed.initialize()  # a single process: nothing to join
  assert distributed.settings("h:1", 2, 1) == {"coordinator_address": "h:1",
                                               "num_processes": 2, "process_id": 1}
  monkeypatch.setenv("JAX_NUM_PROCESSES", "4")
  monkeypatch.setenv("JAX_PROCESS_ID", "3")
  assert distributed.settings("h:1")["num_processes"] == 4
  with pytest.raises(ValueError, match="missing \\['coordinator_address'\\]"):
    distributed.settings()
  with pytest.raises(ValueError, match="process_id must be in \\[0, 2\\)"):
    distributed.settings("h:1", 2, 2)
  with pytest.raises(ValueError, match="host:port"):
    distributed.settings("localhost", 2, 0)
  with pytest.raises(ValueError, match="num_processes must be an integer"):
    distributed.settings("h:1", "two", 0)


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_on_localhost(tmp_path):
  """Two processes x 4 devices joined by jax.distributed.initialize: each places
  only its own rows of the batch; the step and the ensemble equal one device's."""
  out, port = str(tmp_path), _free_port()
  procs = [_worker_process(["process", out, str(i), str(port)], 4) for i in range(2)]
  for p in procs:
    _finish(p)
  reports = []
  for i in range(2):
    with open(os.path.join(out, f"process_{i}.json")) as f:
      reports.append(json.load(f))
  assert [r["host_rows"] for r in reports] == ["slice(0, 8, None)", "slice(8, 16, None)"]
  assert all(r["process_count"] == 2 and r["devices"] == 8 and r["local_devices"] == 4
             for r in reports)
  results = [_load(out, f"process_{i}.npz") for i in range(2)]
  _assert_close(results[0], results[1], exact=True)
  one = _worker.train_steps(sharding.data_mesh(jax.devices()[:1]))
  _assert_close({k: v for k, v in results[0].items() if k != "ens_robust"}, one)
  np.testing.assert_array_equal(results[0]["ens_robust"], _worker.evaluate(None)["ens_robust"])
  # Written by two processes on 8 devices, restored here on one.
  reader = Checkpointer(os.path.join(out, "ckpt_mp"), {"t": "mp"})
  restored, _ = reader.restore(1, jax.eval_shape(_worker.checkpoint_tree))
  reader.close()
  for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(_worker.checkpoint_tree())):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.slow
def test_autoattack_sharded_equals_unsharded(tmp_path):
  """AutoAttack's standard components (APGD-CE, APGD-T, FAB-T, Square) on 8 devices."""
  _finish(_worker_process(["autoattack", str(tmp_path)], 8))
  sharded, one = _load(tmp_path, "aa_sharded.npz"), _load(tmp_path, "aa_one.npz")
  _assert_close(sharded, one, exact=True)
  assert [k for k in one if k.startswith("ens_after_")] == [
      "ens_after_apgd-ce", "ens_after_apgd-t", "ens_after_fab-t", "ens_after_square"]
  assert 0.2 < one["ens_robust"].mean() <= one["ens_after_apgd-ce"].mean() < 1.0
