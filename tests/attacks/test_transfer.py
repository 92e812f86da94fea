"""Properties of the transfer attacks beyond the conformance suite: reductions to
simpler attacks (bit for bit), the diverse-input transform, the TI kernel, and
parity with torchattacks on the same weights."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust.attacks import _transfer
from jaxrobust.attacks.difgsm import DIFGSM
from jaxrobust.attacks.mifgsm import MIFGSM
from jaxrobust.attacks.nifgsm import NIFGSM, SINIFGSM
from jaxrobust.attacks.noise_injected import NoiseInjected
from jaxrobust.attacks.pgd import PGD
from jaxrobust.attacks.pifgsm import PIFGSM
from jaxrobust.attacks.tifgsm import TIFGSM
from jaxrobust.attacks.vmifgsm import VMIFGSM, VNIFGSM, _neighbour_gradient
from jaxrobust.losses import cross_entropy

SHAPE = (6, 12, 12, 3)  # [batch, height, width, channels]


@pytest.fixture(scope="module")
def problem():
  """A small nonlinear model (conv + tanh + dense) with fixed weights, images, labels."""
  k1, k2, k3, k4 = jax.random.split(jax.random.key(0), 4)
  w_conv = jax.random.normal(k1, (3, 3, 3, 4)) * 0.5
  w_dense = jax.random.normal(k2, (12 * 12 * 4, 10)) * 0.1

  def logits_fn(x):
    h = jax.lax.conv_general_dilated(x, w_conv, (1, 1), "SAME",
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return jnp.tanh(h).reshape(x.shape[0], -1) @ w_dense

  x = jax.random.uniform(k3, SHAPE)
  y = jax.random.randint(k4, (SHAPE[0],), 0, 10)
  return logits_fn, x, y


def _bim(eps, step_size, steps, targeted=False):
  return PGD(eps=eps, step_size=step_size, steps=steps, random_start=False, targeted=targeted)


@pytest.mark.parametrize("targeted", [False, True])
def test_mifgsm_without_momentum_is_bim_bit_for_bit(problem, targeted):
  logits_fn, x, y = problem
  mi = MIFGSM(eps=0.1, step_size=0.02, steps=7, decay=0.0, targeted=targeted)
  np.testing.assert_array_equal(mi(logits_fn, x, y),
                                _bim(0.1, 0.02, 7, targeted)(logits_fn, x, y))


def test_momentum_changes_the_iteration(problem):
  logits_fn, x, y = problem
  with_momentum = MIFGSM(eps=0.1, step_size=0.02, steps=7, decay=1.0)(logits_fn, x, y)
  assert float(jnp.abs(with_momentum - _bim(0.1, 0.02, 7)(logits_fn, x, y)).max()) > 0


def test_diverse_input_with_prob_zero_is_the_identity_and_with_one_resizes_and_pads():
  x = jax.random.uniform(jax.random.key(1), SHAPE)
  np.testing.assert_array_equal(_transfer.input_diversity(jax.random.key(2), x, 0.5, 0.0), x)
  ones = jnp.ones(SHAPE)
  sizes = set()
  for seed in range(12):
    out = np.asarray(_transfer.input_diversity(jax.random.key(seed), ones, 0.5, 1.0))
    assert out.shape == SHAPE and out.min() >= 0.0 and out.max() <= 1.0 + 1e-6
    # A constant image resizes to a constant square of side rnd in [6, 12),
    # placed at a random offset, with zeros around it (the padding).
    support = out[0, :, :, 0] > 0.5
    rows, cols = np.nonzero(support.any(1))[0], np.nonzero(support.any(0))[0]
    side = len(rows)
    assert side == len(cols) and 6 <= side < 12 and support.sum() == side * side
    np.testing.assert_allclose(out[:, support], 1.0, rtol=1e-6)
    np.testing.assert_array_equal(out[:, ~support], 0.0)
    sizes.add(side)
  assert len(sizes) > 2  # the size is drawn, not fixed


def test_diverse_input_resize_matches_torch_interpolate():
  torch = pytest.importorskip("torch")
  x = np.array(jax.random.uniform(jax.random.key(3), (2, 28, 28, 3)))
  for size in (25, 26, 27):
    ours = jax.image.resize(jnp.asarray(x), (2, size, size, 3), "linear", antialias=False)
    theirs = torch.nn.functional.interpolate(
        torch.from_numpy(x).permute(0, 3, 1, 2), size=[size, size], mode="bilinear",
        align_corners=False).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_diverse_input_is_jittable_and_rejects_bad_rates():
  x = jax.random.uniform(jax.random.key(4), SHAPE)
  jitted = jax.jit(_transfer.input_diversity, static_argnums=2)(jax.random.key(5), x, 0.9, 1.0)
  np.testing.assert_allclose(jitted, _transfer.input_diversity(jax.random.key(5), x, 0.9, 1.0),
                             atol=1e-6)
  for rate in (0.0, 1.0, 1.1):
    with pytest.raises(ValueError, match="resize_rate"):
      DIFGSM(resize_rate=rate)


@pytest.mark.parametrize("name", _transfer.KERNELS)
def test_ti_kernel_sums_to_one_and_keeps_a_constant_gradient_constant(name):
  kernel = _transfer.smoothing_kernel(name, 5, 3.0)
  assert kernel.shape == (5, 5)
  np.testing.assert_allclose(kernel.sum(), 1.0, rtol=1e-6)
  np.testing.assert_allclose(kernel, kernel.T)
  assert kernel[2, 2] == kernel.max()
  grad = jnp.full(SHAPE, -0.7)
  smoothed = np.asarray(_transfer.depthwise_conv(grad, kernel))
  # Zero padding (as the paper and torchattacks): exact only 2 pixels from the border.
  np.testing.assert_allclose(smoothed[:, 2:-2, 2:-2], -0.7, rtol=1e-6)
  assert (smoothed < 0).all() and (np.sign(smoothed) == np.sign(np.asarray(grad))).all()


def test_ti_kernels_match_torchattacks():
  pytest.importorskip("torch")
  torchattacks = pytest.importorskip("torchattacks")
  np.testing.assert_allclose(_transfer.smoothing_kernel("gaussian", 15, 3),
                             torchattacks.TIFGSM.gkern(None, 15, 3), rtol=1e-5)
  np.testing.assert_allclose(_transfer.smoothing_kernel("linear", 7),
                             torchattacks.TIFGSM.lkern(None, 7), rtol=1e-5)


def test_depthwise_conv_treats_channels_apart():
  grad = jnp.zeros((1, 7, 7, 2)).at[0, 3, 3, 0].set(1.0)
  kernel = _transfer.smoothing_kernel("uniform", 3)
  out = np.asarray(_transfer.depthwise_conv(grad, kernel))
  np.testing.assert_allclose(out[0, 2:5, 2:5, 0], 1 / 9, rtol=1e-6)
  assert out[..., 1].max() == 0 and out[0, :, :, 0].sum() == pytest.approx(1.0)


def test_without_diversity_di_is_mi_and_ti_with_a_unit_kernel_is_mi(problem):
  logits_fn, x, y = problem
  key = jax.random.key(6)
  mi = MIFGSM(eps=0.1, step_size=0.02, steps=5, decay=1.0)(logits_fn, x, y)
  di = DIFGSM(eps=0.1, step_size=0.02, steps=5, decay=1.0, diversity_prob=0.0)
  np.testing.assert_array_equal(di(logits_fn, x, y, key=key), mi)
  ti = TIFGSM(eps=0.1, step_size=0.02, steps=5, decay=1.0, diversity_prob=0.0, len_kernel=1)
  np.testing.assert_array_equal(ti(logits_fn, x, y, key=key), mi)
  # With the transform on, the iterates change.
  di_on = di.replace(diversity_prob=1.0)(logits_fn, x, y, key=key)
  assert float(jnp.abs(di_on - mi).max()) > 0


def test_sinifgsm_with_one_copy_is_nifgsm(problem):
  logits_fn, x, y = problem
  ni = NIFGSM(eps=0.1, step_size=0.02, steps=6)(logits_fn, x, y)
  np.testing.assert_array_equal(SINIFGSM(eps=0.1, step_size=0.02, steps=6, m=1)(logits_fn, x, y),
                                ni)
  si = SINIFGSM(eps=0.1, step_size=0.02, steps=6, m=3)(logits_fn, x, y)
  assert float(jnp.abs(si - ni).max()) > 0
  # NI looks ahead: it differs from MI, and equals it without momentum.
  mi = MIFGSM(eps=0.1, step_size=0.02, steps=6)(logits_fn, x, y)
  assert float(jnp.abs(ni - mi).max()) > 0
  np.testing.assert_array_equal(NIFGSM(eps=0.1, step_size=0.02, steps=6, decay=0.0)(
      logits_fn, x, y), MIFGSM(eps=0.1, step_size=0.02, steps=6, decay=0.0)(logits_fn, x, y))


def test_variance_tuning_without_samples_is_mi_and_ni(problem):
  logits_fn, x, y = problem
  key = jax.random.key(7)
  kw = dict(eps=0.1, step_size=0.02, steps=6)
  np.testing.assert_array_equal(VMIFGSM(**kw, n=0)(logits_fn, x, y),
                                MIFGSM(**kw)(logits_fn, x, y))
  np.testing.assert_array_equal(VNIFGSM(**kw, n=0)(logits_fn, x, y),
                                NIFGSM(**kw)(logits_fn, x, y))
  tuned = VMIFGSM(**kw, n=3)(logits_fn, x, y, key=key)
  assert float(jnp.abs(tuned - MIFGSM(**kw)(logits_fn, x, y)).max()) > 0


def test_variance_vanishes_at_beta_zero(problem):
  """v = mean_i grad(x + r_i) - grad(x) with r_i = 0: zero up to float rounding
  (the n gradients are computed as one vmapped batch)."""
  logits_fn, x, y = problem
  gradient = _transfer.loss_gradient(logits_fn, cross_entropy, y, 1.0)
  grad = gradient(x, None)
  at_zero = _neighbour_gradient(gradient, x, 5, 0.0)(x, jax.random.key(8))
  np.testing.assert_allclose(at_zero, grad, atol=1e-6 * float(jnp.abs(grad).max()))
  spread = _neighbour_gradient(gradient, x, 5, 0.3)(x, jax.random.key(8))
  assert float(jnp.abs(spread - grad).max()) > 1e-3 * float(jnp.abs(grad).max())


def test_pifgsm_without_amplification_is_ifgsm_bit_for_bit(problem):
  """beta = 1: the accumulated noise never exceeds eps, the cut noise is 0 and PI is
  I-FGSM with step eps / steps (eps = 1/8 and steps = 8 keep the sums exact)."""
  logits_fn, x, y = problem
  pi = PIFGSM(eps=0.125, steps=8, amplification=1.0)
  np.testing.assert_array_equal(pi(logits_fn, x, y), _bim(0.125, 0.125 / 8, 8)(logits_fn, x, y))


def test_pifgsm_amplification_moves_to_the_border_in_one_step(problem):
  """beta = steps: the first step is a full eps FGSM step, as |a| = eps exactly;
  larger beta overflows and the projected cut noise moves pixels against the
  gradient sign."""
  logits_fn, x, y = problem
  x = 0.25 + 0.5 * x  # away from the box, so no clipping hides the step
  gradient = _transfer.loss_gradient(logits_fn, cross_entropy, y, 1.0)(x, None)
  fgsm = x + 0.125 * jnp.sign(gradient)
  one_step = PIFGSM(eps=0.125, steps=1, amplification=1.0)(logits_fn, x, y)
  np.testing.assert_array_equal(one_step, fgsm)
  # beta = 8, eps = 1/8, 8 steps: step beta * alpha = eps.
  amplified = PIFGSM(eps=0.125, steps=8, amplification=8.0)(logits_fn, x, y)
  plain = PIFGSM(eps=0.125, steps=8, amplification=1.0)(logits_fn, x, y)
  assert float(jnp.abs(amplified - x).mean()) > float(jnp.abs(plain - x).mean())
  assert float(jnp.abs(amplified - x).max()) <= 0.125 + 1e-7


def test_noise_injected_without_noise_is_ifgsm_and_steps_from_the_clean_point(problem):
  logits_fn, x, y = problem
  key = jax.random.key(9)
  zero = NoiseInjected(eps=0.1, step_size=0.02, steps=7, noise_std=0.0)
  np.testing.assert_array_equal(zero(logits_fn, x, y, key=key), _bim(0.1, 0.02, 7)(logits_fn, x, y))
  x_mid = 0.25 + 0.5 * x
  # One step with large noise: x_1 - x is +-step_size (or 0), never the noise itself.
  one = NoiseInjected(eps=0.1, step_size=0.02, steps=1, noise_std=0.5)(logits_fn, x_mid, y,
                                                                          key=key)
  moved = np.abs(np.asarray(one - x_mid))
  assert np.all(np.isclose(moved, 0.02, atol=1e-6) | (moved == 0))
  fgsm = _bim(0.1, 0.02, 1)(logits_fn, x_mid, y)
  assert float(jnp.abs(one - fgsm).max()) > 0  # the noise changed some signs


def test_randomized_attacks_need_a_key(problem):
  logits_fn, x, y = problem
  for attack in (DIFGSM(), TIFGSM(), VMIFGSM(n=2), NoiseInjected(),
                 PIFGSM(diversity_prob=0.5), MIFGSM(random_start=True)):
    with pytest.raises(ValueError, match="key"):
      attack(logits_fn, x, y)


def test_bad_static_fields_raise():
  with pytest.raises(ValueError, match="kernel_name"):
    TIFGSM(kernel_name="box")
  with pytest.raises(ValueError, match="nsig"):
    TIFGSM(nsig=0.0)
  with pytest.raises(ValueError, match="kernel_size"):
    PIFGSM(kernel_size=4)
  with pytest.raises(ValueError, match="m must"):
    SINIFGSM(m=0)
  with pytest.raises(ValueError, match="n must"):
    VMIFGSM(n=-1)


# Parity with torchattacks 3.5.1 on one linear model (3 channels: PI and TI's
# kernels are built for RGB). CE with mean reduction there, sum here: the sign
# steps and the mean-|g| normalisation don't see the 1/batch factor.


@pytest.fixture(scope="module")
def torch_problem():
  torch = pytest.importorskip("torch")
  torchattacks = pytest.importorskip("torchattacks")
  rng = np.random.default_rng(0)
  w = rng.normal(size=(10, 3 * 10 * 10)).astype(np.float32) * 0.3
  b = rng.normal(size=10).astype(np.float32)
  x_nchw = rng.uniform(size=(8, 3, 10, 10)).astype(np.float32)
  y = rng.integers(0, 10, size=8)
  model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(300, 10))
  with torch.no_grad():
    model[1].weight.copy_(torch.from_numpy(w))
    model[1].bias.copy_(torch.from_numpy(b))
  model.eval()
  logits_fn = lambda x: jnp.transpose(x, (0, 3, 1, 2)).reshape(x.shape[0], -1) @ w.T + b

  def compare(ours, theirs):
    expected = theirs(torch.from_numpy(x_nchw), torch.from_numpy(y)).numpy()
    got = ours(logits_fn, jnp.asarray(x_nchw.transpose(0, 2, 3, 1)), jnp.asarray(y),
               key=jax.random.key(0))
    np.testing.assert_allclose(np.asarray(got).transpose(0, 3, 1, 2), expected, atol=1e-6)
  return torchattacks, model, compare


def test_parity_with_torchattacks(torch_problem):
  ta, model, compare = torch_problem
  eps, alpha = 8 / 255, 2 / 255
  compare(MIFGSM(eps=eps, step_size=alpha, steps=10), ta.MIFGSM(model, eps, alpha, 10, 1.0))
  compare(NIFGSM(eps=eps, step_size=alpha, steps=10), ta.NIFGSM(model, eps, alpha, 10, 1.0))
  compare(SINIFGSM(eps=eps, step_size=alpha, steps=10, m=3),
          ta.SINIFGSM(model, eps, alpha, 10, 1.0, m=3))
  compare(TIFGSM(eps=eps, step_size=alpha, steps=10, decay=1.0, len_kernel=5,
                 diversity_prob=0.0),
          ta.TIFGSM(model, eps, alpha, 10, decay=1.0, len_kernel=5, diversity_prob=0.0))
  # eps = 1/16, 8 steps, beta = 8: the accumulated and cut noise are multiples of
  # 1/16 and their kernel sums are exact; with an inexact eps (16/255) a sum that is
  # 0 in exact arithmetic rounds to +-tiny depending on the order of the additions,
  # and sign() turns that into a full gamma step at a few pixels.
  compare(PIFGSM(eps=0.0625, steps=8, amplification=8.0),
          ta.PIFGSM(model, 0.0625, 8, amplification=8.0))
