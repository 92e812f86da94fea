"""Parity of our AutoAttack with the original (fra31/auto-attack, `pyautoattack` 0.2.0).

Both sides attack the same SmallCNN (Flax, and its exact torch twin of
`torch_models.to_torch`) on the same mnist5k test images, Linf, standard
version, by the reference protocol: each component on the points every earlier
one failed to break (`original_autoattack`). Random starts and Square's windows
come from different generators, so robust accuracies are compared, not points:
  * default tier: the standard-trained model of `peer_setup`, 64 points, eps
    0.1, 10 iterations and 100 queries; cumulative robust accuracy after each
    component within 2 examples (measured: equal at 64 and 128 points);
  * slow tier: the PGD-trained model of `robust_peer_setup`, 500 points, eps
    0.1, the reference budgets (100 iterations, 5,000 queries); each component
    alone on all clean-correct points, and the whole ensemble after each
    component, within 1 point (5 examples).
"""

import time

import pytest

from tests.peers import require_peers

require_peers()
pytest.importorskip("pyautoattack", reason="pip install --no-deps pyautoattack==0.2.0")

import numpy as np  # noqa: E402

from tests.peers.original_autoattack import NAMES, original_chain, ours_chain  # noqa: E402

EPS = 0.1


def _compare(setup, n, steps, n_queries, names, tolerance):
  model, variables, _, twin, x, y = setup
  x, y = np.array(x)[:n], np.array(y)[:n]
  tic = time.perf_counter()
  ours = ours_chain(model, variables, x, y, eps=EPS, steps=steps, n_queries=n_queries,
                    names=names)
  t_ours = time.perf_counter() - tic
  tic = time.perf_counter()
  peer = original_chain(twin, x, y, eps=EPS, steps=steps, n_queries=n_queries, names=names)
  t_peer = time.perf_counter() - tic
  np.testing.assert_array_equal(ours["clean"], peer["clean"])  # the same function
  acc = {name: (ours["after"][name].mean(), peer["after"][name].mean()) for name in names}
  print(f"\nAutoAttack {'+'.join(names)} n={n} steps={steps} queries={n_queries}: "
        f"clean {ours['clean'].mean():.3f}, ours/original after each: "
        + ", ".join(f"{k} {a:.3f}/{b:.3f}" for k, (a, b) in acc.items())
        + f" ({t_ours:.1f} s / {t_peer:.1f} s)")
  assert ours["robust"].mean() < ours["clean"].mean() - 0.02  # a real attack
  for name, (a, b) in acc.items():
    assert abs(a - b) <= tolerance + 1e-9, (name, a, b)


def test_standard_small_budget(peer_setup):
  _compare(peer_setup, 64, 10, 100, NAMES, tolerance=2 / 64)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_component_reference_budget(robust_peer_setup, name):
  _compare(robust_peer_setup, 500, 100, 5000, (name,), tolerance=0.01)


@pytest.mark.slow
def test_standard_reference_budget(robust_peer_setup):
  _compare(robust_peer_setup, 500, 100, 5000, NAMES, tolerance=0.01)
