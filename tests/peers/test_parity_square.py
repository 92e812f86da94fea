"""Reference parity of the Square attack against torchattacks 3.5.1 (the AutoAttack code).

Both sides attack the PGD-trained SmallCNN (`robust_peer_setup`: Flax and its
exact torch twin) on the same 500 mnist5k test images, at the AutoAttack
budget: Linf, eps = 0.1, 5000 queries, p_init = 0.8, margin loss, one restart.

Square is a random search, so the two runs draw different windows and signs;
what must agree is the robust accuracy (within 1 point = 5 examples), not the
points. Seeds: ours `jax.random.key(0)`, torchattacks `seed=0` (it calls
torch.manual_seed(0) before its restarts).

Differences between the two implementations, all with the same law for each
example's search (so the same expected robust accuracy), except the last:
  - torchattacks (like AutoAttack) draws one window position and one sign
    vector per query for the whole batch; ours draws them per example, as the
    paper's algorithm does (the batch does not change an example's search).
  - torchattacks runs n_queries iterations after the initial query (5001
    queries); ours counts the initialisation in the budget (5000), as the paper.
  - window corners: torchattacks' random_int(0, h - s) never reaches the last
    position; ours covers every position inside the image.
  - Linf: ours by default, as the paper's code, redraws the signs of a
    proposal that would leave the window unchanged (torchattacks spends the
    query on the no-op). That makes ours stronger: on the standard SmallCNN,
    200 points, 300 queries, robust accuracy ours 78.5% / 80.5% (keys 0, 1)
    against torchattacks 82.5% / 83.5% (seeds 0, 1). The parity test therefore
    runs ours with `redraw_noops=False`, the AutoAttack law (measured in the
    same setting: 83.0%, 84.0%, 82.5% for keys 0-2; torchattacks 82.5%, 83.5%,
    83.0% for seeds 0-2), and asserts the 1-point bound.

Cost: 5000 queries on the ~400 points the model keeps robust, on both sides;
marked slow.
"""

import time

import pytest

from tests.peers import require_peers

require_peers()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torchattacks  # noqa: E402

from jaxrobust.attacks.square import Square, eta  # noqa: E402
from tests.peers.torch_models import nchw_to_nhwc, nhwc_to_nchw  # noqa: E402

EPS, N_QUERIES, P_INIT = 0.1, 5000, 0.8


def test_l2_window_matches_torchattacks_eta():
  # torchattacks' eta() flips a coin to transpose; its halves are eta_rectangles.
  peer = torchattacks.Square(torch.nn.Linear(1, 1), norm="L2")
  peer.device = torch.device("cpu")
  for s in (3, 5, 7, 13, 25):
    ours = eta(s)
    top = peer.eta_rectangles(s // 2, s).numpy()
    bottom = -peer.eta_rectangles(s - s // 2, s).numpy()
    theirs = np.concatenate([top, bottom])
    theirs /= np.sqrt(np.sum(theirs ** 2))
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


@pytest.mark.slow
def test_square_linf_robust_accuracy_matches_torchattacks(robust_peer_setup):
  _, _, logits_fn, torch_model, x, y = robust_peer_setup
  attack = Square(eps=EPS, n_queries=N_QUERIES, p_init=P_INIT, redraw_noops=False)
  start = time.perf_counter()
  x_adv, queries = jax.jit(lambda x, y, key: attack.with_queries(logits_fn, x, y, key=key))(
      x, y, jax.random.key(0))
  x_adv.block_until_ready()
  ours_s = time.perf_counter() - start
  ours = float(jnp.mean(logits_fn(x_adv).argmax(-1) == y))
  assert float(jnp.max(jnp.abs(x_adv - x))) <= EPS + 1e-6

  peer = torchattacks.Square(torch_model, norm="Linf", eps=EPS, n_queries=N_QUERIES,
                             n_restarts=1, p_init=P_INIT, loss="margin",
                             resc_schedule=True, seed=0)
  peer.set_model_training_mode(model_training=False)
  start = time.perf_counter()
  x_peer = nchw_to_nhwc(peer(nhwc_to_nchw(x), torch.from_numpy(np.array(y)).long()))
  peer_s = time.perf_counter() - start
  theirs = float(jnp.mean(logits_fn(jnp.asarray(x_peer)).argmax(-1) == y))
  clean = float(jnp.mean(logits_fn(x).argmax(-1) == y))
  print(f"\nSquare Linf 5000: clean {clean:.3f} ours {ours:.3f} ({ours_s:.0f} s, "
        f"mean queries {float(jnp.mean(queries)):.0f}) torchattacks {theirs:.3f} ({peer_s:.0f} s)")
  assert clean - ours > 0.02            # the search does break the robust model somewhat
  assert abs(ours - theirs) <= 0.01 + 1e-9, (ours, theirs)
