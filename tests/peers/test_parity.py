"""Reference parity: our attacks against torchattacks 3.5.1 on the same weights and inputs.

Both sides attack the same trained SmallCNN (Flax, and its exact torch twin from
`tests/peers/torch_models.py`) on the same 256 mnist5k test images.

* Deterministic attacks (FGSM, BIM, PGD, PGD-L2, MI-FGSM, DI-FGSM made
  deterministic, TPGD from the same start noise, DeepFool) are compared in
  float64 on both sides (our model with x64 enabled, the twin in double):
  identical algorithms then agree to 1e-6 on every example but a rare one (see
  below), on any CPU. In float32 they cannot: XLA and torch (and XLA on two
  CPUs) sum in different orders, and the attacks amplify rounding by discrete
  decisions:
    - sign steps turn a rounding-level gradient coordinate into a full step
      (in float32, 43 of 200,704 coordinates of PGD-10 on this model);
    - DeepFool, clipped to [0, 1] at every step, creeps to the decision
      boundary from the correct side: after 10 steps 18 of 64 examples sit
      within 6e-6 of it (4 at a margin of exactly 0 in float32), so their
      verdict is decided by the rounding of the logits (7 of 64 verdicts
      differed from torchattacks on one CPU, 2 on another).
  In float64 the rounding band is 1e9 times narrower, so only quantities that
  are zero in exact arithmetic remain ambiguous: measured, x_adv agrees to
  2e-8 everywhere but one example of 256 for MI-FGSM and DI-FGSM (3
  coordinates: a momentum coordinate summing to zero) and for TPGD (its first
  KL gradient is a difference of nearly equal probabilities). So
  `_assert_agree` allows at most 1% of examples to branch (a wrong step moves
  every example), and compares verdicts only where the margin is decided: on
  examples whose margin at both points exceeds what the difference between
  the two points can change it by (first order, with a factor 2 of slack:
  ||grad margin||_1 * ||x_ours - x_peer||_inf). At least 90% of examples must
  be decided, and every decided verdict must agree.
* torchattacks' CE loss is the batch mean, ours the per-example sum: the
  gradient differs by exactly 1/256 (a power of two: signs are unchanged).
  Where a constant meets that scale, the peer is given the mirrored constant:
  PGD-L2 divides by ||g||_2 + eps_for_division (1e-10 by default, on a gradient
  256x smaller: up to 1e-3 of the step on confident examples), and ours by
  max(||g||_2, 1e-12): the peer gets eps_for_division = 1e-12 / 256.
* Stochastic attacks (random starts): robust accuracy within 2 points on the
  same 256 inputs (2 points = 5 examples), in float32. DI-FGSM is compared only
  in its deterministic settings: its transform is one draw per batch and step,
  so the robust accuracy of one 256-image batch varies by ~6 points (std)
  across seeds in both libraries (40 seeds: mean 0.589 ours, 0.586
  torchattacks); a 2-point check of one draw would test the seed, not the attack.
* CW: torchattacks' CW stops when the summed cost rises at a check every
  steps // 10 steps and its margin takes max((1 - onehot) * z), which is 0, not
  the largest other logit, when all other logits are negative; ours runs all
  steps with the exact margin. Ours must be at least as strong: success rate
  >= the peer's, and on the examples both break, median L2 not larger by more
  than 5%.
"""

import copy
import unittest.mock

from tests.peers import require_peers

require_peers()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torchattacks  # noqa: E402

from jaxrobust import attacks  # noqa: E402
from jaxrobust.losses import cross_entropy, cw_margin  # noqa: E402
from tests.peers.torch_models import nchw_to_nhwc, nhwc_to_nchw  # noqa: E402

LINF, L2 = 0.1, 1.5  # the conformance suite's radii (MNIST pixel units)
ATOL = 1e-6  # float64 agreement of one example's x_adv (measured: <= 2e-8)
MAX_BRANCHED = 0.01  # examples allowed to branch on an exact-arithmetic zero
MIN_DECIDED = 0.9  # examples whose verdict must be decided (not vacuous)


def _module(name):
  """Our attack module, or a clear skip while it is not written yet."""
  return pytest.importorskip(f"jaxrobust.attacks.{name}", reason="attack not implemented yet")


def _ours(attack, logits_fn, x, y, key=None):
  return np.asarray(jax.jit(lambda x, y, key: attack(logits_fn, x, y, key=key))(x, y, key))


def _peer(attack, x, y):
  attack.set_model_training_mode(model_training=False)  # eval mode (the default, made explicit)
  assert attack.normalization_used is None  # the twin normalises inside, as ours does
  return nchw_to_nhwc(attack(nhwc_to_nchw(x), torch.from_numpy(np.array(y)).long()))


def _accuracy(logits_fn, x_adv, y):
  return float(jnp.mean(logits_fn(jnp.asarray(x_adv)).argmax(-1) == y))


@pytest.fixture
def peer64(peer_setup):
  """(logits_fn, twin, x, y) in float64: x64 is on for the test, the twin is a double copy."""
  _, _, logits_fn, twin, x, y = peer_setup
  with jax.enable_x64(True):
    yield logits_fn, copy.deepcopy(twin).double(), jnp.asarray(np.asarray(x), jnp.float64), y


def _margins(logits_fn, x, y):
  """Per-example margin z_y - max_{k != y} z_k [batch] and its input gradient."""
  m, vjp = jax.vjp(lambda z: -cw_margin(logits_fn(z), y), jnp.asarray(x))
  return np.asarray(m), np.asarray(vjp(jnp.ones_like(m))[0])


def _assert_agree(ours, peer, logits_fn, y, *, atol=ATOL):
  """x_adv agree to `atol` on all but MAX_BRANCHED of the examples; verdicts
  agree wherever they are decided (module docstring); returns our robust accuracy."""
  assert ours.dtype == peer.dtype == np.float64, (ours.dtype, peer.dtype)
  diff = np.abs(ours - peer).reshape(len(y), -1).max(axis=1)
  branched = diff > atol
  assert branched.mean() <= MAX_BRANCHED, (
      f"{branched.sum()} of {len(y)} examples differ by more than {atol}; "
      f"worst {np.sort(diff)[-5:]}")
  (m_ours, g_ours), (m_peer, _) = _margins(logits_fn, ours, y), _margins(logits_fn, peer, y)
  band = 2 * np.abs(g_ours).reshape(len(y), -1).sum(axis=1) * diff
  decided = np.minimum(np.abs(m_ours), np.abs(m_peer)) > band
  assert decided.mean() >= MIN_DECIDED, f"only {decided.mean():.3f} of verdicts are decided"
  disagree = decided & ((m_ours > 0) != (m_peer > 0))
  assert not disagree.any(), (
      f"decided verdicts differ on examples {np.nonzero(disagree)[0]}: margins "
      f"{m_ours[disagree]} (ours) vs {m_peer[disagree]} (peer), band {band[disagree]}")
  return float(np.mean(m_ours > 0))


def _assert_similar_strength(ours, peer, logits_fn, x, y, points=0.02):
  acc_clean = _accuracy(logits_fn, x, y)
  acc_ours, acc_peer = _accuracy(logits_fn, ours, y), _accuracy(logits_fn, peer, y)
  assert abs(acc_ours - acc_peer) <= points + 1e-9, (acc_ours, acc_peer)
  assert acc_ours < acc_clean - 0.1  # both are real attacks, not two no-ops
  return acc_ours, acc_peer


# --- deterministic: x_adv agrees ------------------------------------------------------


def test_fgsm(peer64):
  logits_fn, twin, x, y = peer64
  fgsm = _module("fgsm")
  ours = _ours(fgsm.FGSM(eps=LINF), logits_fn, x, y)
  peer = _peer(torchattacks.FGSM(twin, eps=LINF), x, y)
  _assert_agree(ours, peer, logits_fn, y)
  # One step: a coordinate can only differ where its gradient is zero in exact
  # arithmetic (rounding decides its sign), i.e. at float64 rounding level.
  grad = np.asarray(jax.grad(lambda z: jnp.sum(cross_entropy(logits_fn(z), y)))(x))
  scale = np.abs(grad).reshape(len(grad), -1).max(axis=1).reshape(-1, 1, 1, 1)
  flips = np.abs(ours - peer) > ATOL
  assert np.all(np.abs(grad)[flips] <= 1e-12 * np.broadcast_to(scale, grad.shape)[flips])


@pytest.mark.parametrize("targeted", [False, True], ids=["untargeted", "targeted"])
def test_pgd_linf(peer64, targeted):
  logits_fn, twin, x, y = peer64
  labels = (y + 1) % 10 if targeted else y
  ours = _ours(attacks.PGD(eps=LINF, step_size=LINF / 4, steps=10, random_start=False,
                           targeted=targeted), logits_fn, x, labels)
  peer_attack = torchattacks.PGD(twin, eps=LINF, alpha=LINF / 4, steps=10, random_start=False)
  if targeted:
    peer_attack.set_mode_targeted_by_label(quiet=True)  # the labels passed are the targets
  peer = _peer(peer_attack, x, labels)
  acc = _assert_agree(ours, peer, logits_fn, y)
  assert acc < _accuracy(logits_fn, x, y) - 0.1


def test_pgd_l2(peer64):
  logits_fn, twin, x, y = peer64
  ours = _ours(attacks.PGD(eps=L2, step_size=L2 / 4, steps=10, norm="l2", random_start=False),
               logits_fn, x, y)
  peer = _peer(torchattacks.PGDL2(twin, eps=L2, alpha=L2 / 4, steps=10, random_start=False,
                                  eps_for_division=1e-12 / len(y)), x, y)
  acc = _assert_agree(ours, peer, logits_fn, y)
  assert acc < _accuracy(logits_fn, x, y) - 0.1


def test_bim(peer64):
  logits_fn, twin, x, y = peer64
  bim = _module("bim")
  ours = _ours(bim.BIM(eps=LINF, step_size=LINF / 10, steps=10), logits_fn, x, y)
  peer = _peer(torchattacks.BIM(twin, eps=LINF, alpha=LINF / 10, steps=10), x, y)
  _assert_agree(ours, peer, logits_fn, y)


def test_mifgsm(peer64):
  logits_fn, twin, x, y = peer64
  mifgsm = _module("mifgsm")
  ours = _ours(mifgsm.MIFGSM(eps=LINF, step_size=LINF / 10, steps=10, decay=1.0),
               logits_fn, x, y)
  peer = _peer(torchattacks.MIFGSM(twin, eps=LINF, alpha=LINF / 10, steps=10, decay=1.0), x, y)
  _assert_agree(ours, peer, logits_fn, y)


@pytest.mark.parametrize("resize_rate, diversity_prob", [(0.9, 0.0), (27 / 28, 1.0)],
                         ids=["no_diversity", "fixed_transform"])
def test_difgsm_deterministic(peer64, resize_rate, diversity_prob):
  """DI-FGSM made deterministic in two ways, so x_adv can agree.

  diversity_prob = 0: both are MI-FGSM. resize_rate = 27/28 with
  diversity_prob = 1: on 28x28 both draw the only size, 27, and the only
  offset, 0, so every step resizes bilinearly to 27 and pads one zero row and
  column (the resize and padding conventions must match).
  """
  logits_fn, twin, x, y = peer64
  difgsm = _module("difgsm")
  ours = _ours(difgsm.DIFGSM(eps=LINF, step_size=LINF / 10, steps=10, decay=1.0,
                             resize_rate=resize_rate, diversity_prob=diversity_prob),
               logits_fn, x, y, jax.random.key(0))
  peer = _peer(torchattacks.DIFGSM(twin, eps=LINF, alpha=LINF / 10, steps=10, decay=1.0,
                                   resize_rate=resize_rate, diversity_prob=diversity_prob),
               x, y)
  _assert_agree(ours, peer, logits_fn, y)


def test_tpgd(peer64):
  """TPGD starts at x + 0.001 N(0, I); the peer is handed our draw.

  The first KL gradient is p(x_adv) - p(x) at a point 0.001 away, a difference
  of nearly equal numbers: in float32 its signs were rounding-level on many
  coordinates (98.8% of coordinates, 89.8% of examples agreed to 1e-4); in
  float64 one example of 256 branches. Assumes our TPGD draws its start as
  `jax.random.normal(key, x.shape)`; the success-rate check with independent
  noise (float32) does not. That check averages 4 draws per side: the start
  decides the first step's signs, so one draw's robust accuracy varies (12
  draws: std 2.5 points ours, 1.3 torchattacks; means 65.85% and 65.95%).
  """
  logits_fn, twin, x, y = peer64
  tpgd = _module("tpgd")
  key = jax.random.key(0)
  ours = _ours(tpgd.TPGD(eps=LINF, step_size=LINF / 4, steps=10), logits_fn, x, y, key)
  noise = nhwc_to_nchw(jax.random.normal(key, x.shape, x.dtype))
  with unittest.mock.patch.object(torch, "randn_like", lambda t: noise.clone()):
    peer = _peer(torchattacks.TPGD(twin, eps=LINF, alpha=LINF / 4, steps=10), x, y)
  _assert_agree(ours, peer, logits_fn, y)


def test_tpgd_success_rate(peer_setup):
  """TPGD with independent start noise on each side (float32): see test_tpgd."""
  _, _, logits_fn, twin, x, y = peer_setup
  tpgd = _module("tpgd")
  acc_ours, acc_peer = [], []
  for seed in range(4):
    acc_ours.append(_accuracy(logits_fn, _ours(tpgd.TPGD(eps=LINF, step_size=LINF / 4, steps=10),
                                               logits_fn, x, y, jax.random.key(seed)), y))
    torch.manual_seed(seed)
    acc_peer.append(_accuracy(logits_fn, _peer(
        torchattacks.TPGD(twin, eps=LINF, alpha=LINF / 4, steps=10), x, y), y))
  assert abs(np.mean(acc_ours) - np.mean(acc_peer)) <= 0.02, (acc_ours, acc_peer)
  assert np.mean(acc_ours) < _accuracy(logits_fn, x, y) - 0.1


def test_deepfool(peer64):
  """On 64 examples, 10 steps: torchattacks' DeepFool loops over examples in Python.

  Both clip every step to [0, 1] (torchattacks' order); on MNIST, whose pixels
  sit at 0 and 1, the clip removes much of each linearised step, so both creep
  towards the boundary from the correct side: the assertion is that they creep
  identically. Examples that end on the boundary (|margin| of
  1e-8 in float64) are undecided, not compared (module docstring).
  """
  logits_fn, twin, x, y = peer64
  deepfool = _module("deepfool")
  x, y = x[:64], y[:64]
  ours = _ours(deepfool.DeepFool(steps=10, overshoot=0.02), logits_fn, x, y)
  peer = _peer(torchattacks.DeepFool(twin, steps=10, overshoot=0.02), x, y)
  _assert_agree(ours, peer, logits_fn, y)
  moved = np.sqrt(((ours - np.asarray(x)) ** 2).reshape(len(y), -1).sum(axis=1))
  assert np.median(moved) > 0.5  # not two no-ops: the examples travelled
  # ... to the boundary: in float64 none crosses it in 10 steps (the few that
  # float32 breaks are broken by rounding), but the margin all but vanishes.
  clean, adv = _margins(logits_fn, x, y)[0], _margins(logits_fn, ours, y)[0]
  assert np.median(adv[clean > 0] / clean[clean > 0]) < 1e-3


# --- stochastic: success rates agree ------------------------------------------------


def _stochastic_cases():
  return {
      "pgd_linf_random_start": (
          lambda: attacks.PGD(eps=LINF, step_size=LINF / 4, steps=10, random_start=True),
          lambda m: torchattacks.PGD(m, eps=LINF, alpha=LINF / 4, steps=10, random_start=True)),
      # torchattacks draws the L2 start radius uniformly in [0, eps], ours uniformly
      # in the ball (radius ~ eps in 784 dimensions); 10 steps wash that out.
      "pgd_l2_random_start": (
          lambda: attacks.PGD(eps=L2, step_size=L2 / 4, steps=10, norm="l2", random_start=True),
          lambda m: torchattacks.PGDL2(m, eps=L2, alpha=L2 / 4, steps=10, random_start=True)),
      "ffgsm": (
          lambda: _module("fgsm").FFGSM(eps=LINF, step_size=1.25 * LINF),
          lambda m: torchattacks.FFGSM(m, eps=LINF, alpha=1.25 * LINF)),
      # torchattacks' RFGSM(eps, alpha, steps) uses alpha for the random step and
      # for every gradient step.
      "rfgsm": (
          lambda: _module("fgsm").RFGSM(eps=LINF, step_size=LINF / 4, alpha=LINF / 4, steps=10),
          lambda m: torchattacks.RFGSM(m, eps=LINF, alpha=LINF / 4, steps=10)),
  }


@pytest.mark.parametrize("name", sorted(_stochastic_cases()))
def test_stochastic_success_rates(peer_setup, name):
  _, _, logits_fn, twin, x, y = peer_setup
  make_ours, make_peer = _stochastic_cases()[name]
  ours = _ours(make_ours(), logits_fn, x, y, jax.random.key(0))
  torch.manual_seed(0)
  peer = _peer(make_peer(twin), x, y)
  _assert_similar_strength(ours, peer, logits_fn, x, y)


# --- CW: at least as strong ---------------------------------------------------------


def test_cw_at_least_as_strong(peer_setup):
  _, _, logits_fn, twin, x, y = peer_setup
  cw = _module("cw")
  x, y = x[:128], y[:128]
  # c = 10: at lr 0.01, 50 Adam steps from x break ~20 of 128 (c = 1: ~10).
  c, steps, lr = 10.0, 50, 0.01
  ours = _ours(cw.CW(c=c, kappa=0.0, steps=steps, learning_rate=lr, binary_search_steps=1),
               logits_fn, x, y)
  peer = _peer(torchattacks.CW(twin, c=c, kappa=0, steps=steps, lr=lr), x, y)
  clean_ok = np.asarray(logits_fn(x).argmax(-1) == y)

  def successes(x_adv):
    return clean_ok & np.asarray(logits_fn(jnp.asarray(x_adv)).argmax(-1) != y)

  def l2(x_adv):
    return np.sqrt(((x_adv - np.asarray(x)) ** 2).reshape(len(y), -1).sum(axis=1))

  s_ours, s_peer = successes(ours), successes(peer)
  assert s_peer.sum() >= 10, "the peer breaks too few examples for a comparison"
  assert s_ours.sum() >= s_peer.sum(), (s_ours.sum(), s_peer.sum())
  both = s_ours & s_peer
  assert np.median(l2(ours)[both]) <= 1.05 * np.median(l2(peer)[both]), (
      np.median(l2(ours)[both]), np.median(l2(peer)[both]))
