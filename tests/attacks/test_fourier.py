"""Single Fourier attack: the basis, and the search on models whose answer is known."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust.attacks.fourier import SingleFourier, all_frequencies, fourier_basis


@pytest.mark.parametrize("height,width", [(8, 8), (7, 6), (28, 28)])
def test_basis_images_are_real_and_orthonormal(height, width):
  basis = np.asarray(fourier_basis(height, width))
  assert basis.shape == (height * width, height, width)
  assert np.isrealobj(basis)
  flat = basis.reshape(height * width, -1).astype(np.float64)
  np.testing.assert_allclose(flat @ flat.T, np.eye(height * width), atol=1e-5)


def test_basis_is_the_papers_combination_of_a_frequency_and_its_conjugate():
  height, width = 6, 5
  basis = np.asarray(fourier_basis(height, width))
  for k, (u, v) in enumerate(all_frequencies(height, width)):
    spike = np.zeros((height, width))
    spike[u, v] = 1.0
    f = np.fft.ifft2(spike) * np.sqrt(height * width)        # unit-norm F_{u,v}
    conj = np.zeros((height, width))
    conj[-u % height, -v % width] = 1.0
    f_conj = np.fft.ifft2(conj) * np.sqrt(height * width)    # F_{-u,-v}
    real = ((1 + 1j) * f + (1 - 1j) * f_conj) / 2
    np.testing.assert_allclose(real.imag, 0, atol=1e-12)
    np.testing.assert_allclose(basis[k], real.real, atol=1e-6)


def _planted(freq, channel_signs, height=12, width=12, margin=0.05, weight=1.0):
  """A 2-class linear model that only a perturbation along +B_freq (with the
  given sign per channel) can flip; x is mid-grey, so the box never clips."""
  b = np.asarray(fourier_basis(height, width, np.array([freq])))[0]
  w = jnp.asarray(b[..., None] * np.asarray(channel_signs, np.float32))
  x = jnp.full((3, height, width, len(channel_signs)), 0.5)

  def logits_fn(z):
    score = weight * jnp.sum((z - 0.5) * w, axis=(1, 2, 3))
    return jnp.stack([jnp.full_like(score, margin), score], axis=-1)

  return logits_fn, x, jnp.zeros(3, jnp.int32), w


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_search_finds_the_planted_frequency(norm):
  logits_fn, x, y, w = _planted((3, 9), [1.0])
  eps = 0.1 if norm == "l2" else 0.05
  attack = SingleFourier(eps=eps, norm=norm, chunk_size=16)
  x_adv = jax.jit(lambda x, y: attack(logits_fn, x, y))(x, y)
  assert np.all(np.asarray(logits_fn(x_adv).argmax(-1)) == 1)
  delta = np.asarray(x_adv - x)
  unit = np.asarray(w) / (np.sqrt(np.sum(np.asarray(w) ** 2)) if norm == "l2"
                          else np.abs(np.asarray(w)).max())
  np.testing.assert_allclose(delta, np.broadcast_to(eps * unit, delta.shape), atol=1e-6)


def test_chunking_does_not_change_the_result():
  logits_fn, x, y, _ = _planted((5, 2), [-1.0])
  run = lambda chunk: SingleFourier(eps=0.1, chunk_size=chunk)(logits_fn, x, y)
  np.testing.assert_array_equal(run(7), run(144))


def test_a_restricted_search_misses_an_unlisted_frequency():
  logits_fn, x, y, _ = _planted((3, 9), [1.0])
  listed = SingleFourier(eps=0.1, frequencies=((0, 1), (3, 9)))(logits_fn, x, y)
  unlisted = SingleFourier(eps=0.1, frequencies=((0, 1), (9, 3), (2, 2)))(logits_fn, x, y)
  assert np.all(np.asarray(logits_fn(listed).argmax(-1)) == 1)
  assert np.all(np.asarray(logits_fn(unlisted).argmax(-1)) == 0)


def test_per_channel_signs_are_needed_for_a_mixed_sign_direction():
  # Channels weighted (+, +, -): one shared sign gets a third of the planted
  # gain (0.058 at eps 0.1), too little against the margin 0.07; searching
  # the sign patterns gets all of it (0.173).
  logits_fn, x, y, w = _planted((1, 4), [1.0, 1.0, -1.0], margin=0.07)
  shared = SingleFourier(eps=0.1)(logits_fn, x, y)
  per_channel = SingleFourier(eps=0.1, per_channel=True)(logits_fn, x, y)
  assert np.all(np.asarray(logits_fn(shared).argmax(-1)) == 0)
  assert np.all(np.asarray(logits_fn(per_channel).argmax(-1)) == 1)
  delta = np.asarray(per_channel - x)[0]
  np.testing.assert_allclose(delta, 0.1 * np.asarray(w) / np.sqrt(np.sum(np.asarray(w) ** 2)),
                             atol=1e-6)


def test_targeted_mode_and_already_fooled_inputs():
  logits_fn, x, y, _ = _planted((2, 2), [1.0])
  x_adv = SingleFourier(eps=0.1, targeted=True)(logits_fn, x, jnp.ones(3, jnp.int32))
  assert np.all(np.asarray(logits_fn(x_adv).argmax(-1)) == 1)
  # Label 1 is already "fooled" at x (the model says 0): the best loss for
  # label 1 is pushing score down, never a step that makes the model say 1.
  x_adv = SingleFourier(eps=0.1)(logits_fn, x, jnp.ones(3, jnp.int32))
  assert np.all(np.asarray(logits_fn(x_adv).argmax(-1)) == 0)


def test_bad_arguments_raise():
  with pytest.raises(ValueError, match="frequencies"):
    SingleFourier(frequencies=((1, 2, 3),))
  with pytest.raises(ValueError, match="chunk_size"):
    SingleFourier(chunk_size=0)
  with pytest.raises(ValueError, match="valid choices"):
    SingleFourier(norm="l1")
  logits_fn, x, y, _ = _planted((1, 1), [1.0])
  with pytest.raises(ValueError, match="frequencies"):
    SingleFourier(frequencies=((12, 0),))(logits_fn, x, y)
