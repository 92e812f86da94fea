"""Properties of the minimum-norm attacks: CW, EAD and DeepFool."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrobust.attacks.cw import CW, margin_objective, succeeded, update_constant
from jaxrobust.attacks.deepfool import DeepFool
from jaxrobust.attacks.ead import EAD, shrink
from tests import numerics


def _linear(classes, dim=64, seed=0, batch=8):
  """A linear model z = x W + b and inputs in [0.4, 0.6], far enough inside the
  box that the closed-form minimal perturbations need no clipping."""
  rng = np.random.default_rng(seed)
  w = jnp.asarray(rng.normal(size=(dim, classes)), jnp.float32)
  b = jnp.asarray(rng.normal(size=classes), jnp.float32)
  logits_fn = lambda x: x.reshape(x.shape[0], -1) @ w + b
  x = jnp.asarray(rng.uniform(0.4, 0.6, size=(batch, dim // 4, 4, 1)), jnp.float32)
  return logits_fn, w, x, logits_fn(x).argmax(-1)


def _l2(d):
  return np.linalg.norm(np.asarray(d).reshape(d.shape[0], -1), axis=1)


def _l1(d):
  return np.abs(np.asarray(d).reshape(d.shape[0], -1)).sum(1)


# ---------------------------------------------------------------- DeepFool

@pytest.mark.parametrize("overshoot", [0.0, 0.02])
def test_deepfool_one_step_is_the_closed_form_on_a_linear_multiclass_model(overshoot):
  logits_fn, w, x, y = _linear(classes=5)
  x_adv = DeepFool(steps=1, overshoot=overshoot)(logits_fn, x, y)
  z = np.asarray(logits_fn(x), np.float64)
  wn = np.asarray(w, np.float64)
  for i in range(x.shape[0]):
    k = [j for j in range(5) if j != y[i]]
    f = z[i, k] - z[i, y[i]]
    dw = wn[:, k] - wn[:, [y[i]]]  # [dim, 4]
    l = np.argmin(np.abs(f) / np.linalg.norm(dw, axis=0))
    r = np.abs(f[l]) / np.sum(dw[:, l] ** 2) * dw[:, l]
    np.testing.assert_allclose(np.asarray(x_adv[i]).ravel(),
                               np.asarray(x[i]).ravel() + (1 + overshoot) * r, atol=2e-5)
    if overshoot == 0:  # exactly on the boundary between y and the closest class
      zi = np.asarray(logits_fn(x_adv[i:i + 1]))[0]
      np.testing.assert_allclose(zi[y[i]], zi[k[l]], atol=1e-4)


def test_deepfool_crosses_a_linear_binary_boundary_in_one_step_and_stops():
  logits_fn, w, x, y = _linear(classes=2)
  x_adv = DeepFool(steps=50, overshoot=0.02)(logits_fn, x, y)
  z = logits_fn(x)
  f = np.asarray(z[:, 1] - z[:, 0])
  dw = np.asarray(w[:, 1] - w[:, 0])
  sign = np.where(np.asarray(y) == 0, 1.0, -1.0)  # towards the other class
  r = (np.abs(f) / np.sum(dw ** 2))[:, None] * dw[None] * sign[:, None]
  np.testing.assert_allclose(np.asarray(x_adv).reshape(8, -1),
                             np.asarray(x).reshape(8, -1) + 1.02 * r, atol=2e-5)
  assert np.all(np.asarray(logits_fn(x_adv).argmax(-1)) != np.asarray(y))
  # The minimal L2 distance is |f| / ||w||; the overshoot adds 2%.
  np.testing.assert_allclose(_l2(x_adv - x), 1.02 * np.abs(f) / np.linalg.norm(dw), rtol=1e-4)


def test_deepfool_leaves_misclassified_examples_alone():
  logits_fn, _, x, y = _linear(classes=3)
  wrong = (y + 1) % 3
  np.testing.assert_array_equal(DeepFool()(logits_fn, x, wrong), x)


def _mlp(seed=0, dim=12, classes=4):
  rng = np.random.default_rng(seed)
  w1 = jnp.asarray(rng.normal(size=(dim, 16)) / np.sqrt(dim), jnp.float32)
  w2 = jnp.asarray(rng.normal(size=(16, classes)), jnp.float32)
  return lambda x: jnp.tanh(x.reshape(x.shape[0], -1) @ w1 - 0.3) @ w2


def _torchattacks_deepfool(logits_fn, x, y, steps, overshoot):
  """torchattacks' DeepFool transliterated: a Python loop over examples and steps."""
  out = []
  logits_one = jax.jit(lambda z: logits_fn(z)[0])
  jacobian = jax.jit(jax.jacrev(logits_one))
  for image, label in zip(x, np.asarray(y)):
    image = image[None]
    for _ in range(steps):
      fs = logits_one(image)
      if int(jnp.argmax(fs)) != label:
        break
      ws = jacobian(image)
      wrong = np.array([i for i in range(fs.shape[0]) if i != label])
      f_prime = fs[wrong] - fs[label]
      w_prime = ws[wrong] - ws[label]
      value = jnp.abs(f_prime) / jnp.linalg.norm(w_prime.reshape(len(wrong), -1), axis=1)
      hat_l = int(jnp.argmin(value))
      delta = jnp.abs(f_prime[hat_l]) * w_prime[hat_l] / jnp.linalg.norm(w_prime[hat_l]) ** 2
      image = jnp.clip(image + (1 + overshoot) * delta, 0, 1)
    out.append(image[0])
  return jnp.stack(out)


def test_deepfool_follows_torchattacks_order_of_operations():
  logits_fn = _mlp()
  x = jax.random.uniform(jax.random.key(0), (8, 3, 4, 1))
  y = logits_fn(x).argmax(-1)
  for steps in (1, 3):
    ours = jax.jit(lambda x, y: DeepFool(steps=steps, overshoot=0.02)(logits_fn, x, y))(x, y)
    reference = _torchattacks_deepfool(logits_fn, x, y, steps, 0.02)
    np.testing.assert_allclose(ours, reference, atol=1e-5)
  assert np.mean(np.asarray(logits_fn(ours).argmax(-1) != y)) > 0.5


def test_deepfool_num_classes_restricts_the_candidates():
  logits_fn, _, x, y = _linear(classes=6)
  # All classes as candidates: the same as None.
  np.testing.assert_allclose(DeepFool(steps=1, num_classes=6)(logits_fn, x, y),
                             DeepFool(steps=1)(logits_fn, x, y), atol=1e-6)
  # Two candidates: the step heads for the runner-up class, whichever is closest.
  x_adv = DeepFool(steps=1, overshoot=0.0, num_classes=2)(logits_fn, x, y)
  runner_up = jax.lax.top_k(logits_fn(x), 2)[1][:, 1]
  z = logits_fn(x_adv)
  np.testing.assert_allclose(jnp.take_along_axis(z, y[:, None], 1)[:, 0],
                             jnp.take_along_axis(z, runner_up[:, None], 1)[:, 0], atol=1e-4)


# ---------------------------------------------------------------- CW

def test_margin_and_success_count_the_confidence():
  logits = jnp.array([[1.0, 1.5, 0.0]])
  y, t = jnp.array([0]), jnp.array([1])
  np.testing.assert_allclose(margin_objective(logits, y, 1.0, False), [-0.5])
  np.testing.assert_allclose(margin_objective(logits, y, 0.2, False), [-0.2])  # clipped at -kappa
  np.testing.assert_allclose(margin_objective(logits, y, 0.0, False), [0.0])
  np.testing.assert_allclose(margin_objective(logits, t, 1.0, True), [-0.5])
  np.testing.assert_allclose(margin_objective(logits, jnp.array([2]), 1.0, True), [1.5])
  assert bool(succeeded(logits, y, 0.4, False)[0]) and not bool(succeeded(logits, y, 0.6, False)[0])
  assert bool(succeeded(logits, t, 0.4, True)[0]) and not bool(succeeded(logits, t, 0.6, True)[0])


def test_binary_search_update_of_c_follows_the_paper():
  c, lo, hi = jnp.array([1.0]), jnp.array([0.0]), jnp.array([1e10])
  c, lo, hi = update_constant(c, lo, hi, jnp.array([False]))  # no upper bound yet: x10
  np.testing.assert_allclose((c, lo, hi), ([10.0], [1.0], [1e10]))
  c, lo, hi = update_constant(c, lo, hi, jnp.array([True]))  # success: bisect
  np.testing.assert_allclose((c, lo, hi), ([5.5], [1.0], [10.0]))
  c, lo, hi = update_constant(c, lo, hi, jnp.array([False]))  # failure with a bound: bisect
  np.testing.assert_allclose((c, lo, hi), ([7.75], [5.5], [10.0]))


def test_cw_binary_search_approaches_the_minimal_l2_on_a_linear_model():
  logits_fn, w, x, y = _linear(classes=2)
  f = np.abs(np.asarray(logits_fn(x) @ jnp.array([1.0, -1.0])))
  minimal = f / np.linalg.norm(np.asarray(w[:, 1] - w[:, 0]))
  run = lambda a: jax.jit(lambda x, y: a(logits_fn, x, y))(x, y)
  # c = 0.01 is too small to break anything: x itself comes back.
  np.testing.assert_array_equal(run(CW(c=0.01, steps=200)), x)
  x_adv = run(CW(c=0.01, steps=200, binary_search_steps=5))
  assert np.all(np.asarray(logits_fn(x_adv).argmax(-1)) != np.asarray(y))
  # No successful point is closer than |f| / ||w||; the search gets within 1%.
  ratio = _l2(x_adv - x) / minimal
  assert np.all(ratio >= 1 - 1e-4) and np.all(ratio <= 1.01), ratio


def _cw_run(attack, logits_fn, x, y):
  x_adv = jax.jit(lambda x, y: attack(logits_fn, x, y))(x, y)
  pred = logits_fn(x_adv).argmax(-1)
  success = np.asarray(pred == y) if attack.targeted else np.asarray(pred != y)
  return x_adv, success, _l2(x_adv - x)


def test_cw_binary_search_never_does_worse_than_its_first_c(mnist_model):
  logits_fn, x, y, _ = mnist_model
  x, y = x[:64], y[:64]
  _, single_ok, single_l2 = _cw_run(CW(c=1.0, steps=20, learning_rate=0.1), logits_fn, x, y)
  _, search_ok, search_l2 = _cw_run(CW(c=1.0, steps=20, learning_rate=0.1,
                                       binary_search_steps=3), logits_fn, x, y)
  # The first value of c is the single-c run; the best is kept over all.
  assert np.all(search_ok[single_ok])
  assert np.all(search_l2[single_ok] <= single_l2[single_ok] + 1e-5)
  assert np.median(search_l2[single_ok]) <= np.median(single_l2[single_ok])
  assert search_ok.mean() > single_ok.mean() + 0.1  # c grew where c = 1 failed


def test_cw_best_so_far_is_monotone_in_steps(mnist_model):
  logits_fn, x, y, _ = mnist_model
  x, y = x[:64], y[:64]
  runs = [_cw_run(CW(c=1.0, steps=s, learning_rate=0.1), logits_fn, x, y) for s in (5, 10, 20)]
  for (_, ok_short, l2_short), (_, ok_long, l2_long) in zip(runs, runs[1:]):
    assert np.all(ok_long[ok_short])
    assert np.all(l2_long[ok_short] <= l2_short[ok_short] + 1e-6)
  assert runs[-1][1].mean() > runs[0][1].mean()
  # Never broken: x itself (the paper's "no adversarial example found").
  x_adv = runs[0][0]
  np.testing.assert_array_equal(x_adv[~runs[0][1]], x[~runs[0][1]])


def test_cw_targeted_hits_the_targets():
  logits_fn, _, x, y = _linear(classes=4)
  target = (y + 1) % 4
  x_adv, hit, _ = _cw_run(CW(c=10.0, steps=100, learning_rate=0.05, targeted=True),
                          logits_fn, x, target)
  assert np.all(hit)
  # With confidence kappa the target wins by kappa.
  x_adv, hit, _ = _cw_run(CW(c=10.0, kappa=1.0, steps=100, learning_rate=0.05, targeted=True),
                          logits_fn, x, target)
  z = np.asarray(logits_fn(x_adv))
  zt = z[np.arange(8), np.asarray(target)]
  others = np.where(np.eye(4, dtype=bool)[np.asarray(target)], -np.inf, z).max(1)
  assert np.all(hit) and np.all(zt - others >= 1.0 - 1e-5)


# ---------------------------------------------------------------- EAD

def test_shrinkage_is_the_papers_three_cases_and_stays_in_the_box():
  z = jax.random.uniform(jax.random.key(0), (4, 50), minval=-0.5, maxval=1.5)
  x = jax.random.uniform(jax.random.key(1), (4, 50))
  beta = 0.1
  d = z - x
  paper = np.where(d > beta, np.minimum(z - beta, 1.0),
                   np.where(d < -beta, np.maximum(z + beta, 0.0), x))
  out = shrink(z, x, beta)
  np.testing.assert_allclose(out, paper, atol=1e-6)
  assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
  # beta = 0: a plain projection onto the box (an L2 attack's step).
  np.testing.assert_allclose(shrink(z, x, 0.0), jnp.clip(z, 0, 1), atol=1e-6)


def test_ead_first_step_is_a_shrunk_gradient_step():
  logits_fn, w, x, y = _linear(classes=2)
  c, lr, beta = 20.0, 0.02, 0.01
  x_adv = EAD(c=c, beta=beta, steps=1, learning_rate=lr, binary_search_steps=1)(logits_fn, x, y)
  # At y_0 = x the L2 term has zero gradient: only c * grad(z_y - z_other).
  other = 1 - y
  grad = c * (w[:, y] - w[:, other]).T.reshape(x.shape)
  expected = shrink(x - lr * grad, x, beta)
  assert np.all(np.asarray(logits_fn(expected).argmax(-1)) != np.asarray(y))
  np.testing.assert_allclose(x_adv, expected, atol=1e-6)


def _ead_run(attack, logits_fn, x, y):
  x_adv = jax.jit(lambda x, y: attack(logits_fn, x, y))(x, y)
  success = np.asarray(logits_fn(x_adv).argmax(-1) != y)
  return x_adv, success, _l1(x_adv - x), _l2(x_adv - x)


def test_ead_l1_rule_gives_smaller_l1_than_en(mnist_model):
  logits_fn, x, y, _ = mnist_model
  x, y = x[:64], y[:64]
  base = EAD(c=1.0, beta=0.01, steps=10, binary_search_steps=2)
  en_x, en_ok, en_l1, en_l2 = _ead_run(base, logits_fn, x, y)
  l1_x, l1_ok, l1_l1, l1_l2 = _ead_run(base.replace(decision_rule="L1"), logits_fn, x, y)
  # The iterates and the search over c don't depend on the rule, only the choice.
  np.testing.assert_array_equal(en_ok, l1_ok)
  assert en_ok.mean() > 0.8
  assert np.all(l1_l1 <= en_l1 + 1e-4) and l1_l1.mean() < en_l1.mean()
  en_cost = lambda l1, l2: l2 ** 2 + 0.01 * l1
  assert np.all(en_cost(en_l1, en_l2) <= en_cost(l1_l1, l1_l2) + 1e-4)
  for x_adv in (en_x, l1_x):
    assert float(x_adv.min()) >= 0.0 and float(x_adv.max()) <= 1.0


def test_ead_without_beta_is_an_l2_attack(mnist_model):
  logits_fn, x, y, _ = mnist_model
  x, y = x[:64], y[:64]
  base = EAD(c=1.0, steps=10, binary_search_steps=2)
  x0, ok0, l1_0, l2_0 = _ead_run(base.replace(beta=0.0), logits_fn, x, y)
  x1, ok1, l1_1, l2_1 = _ead_run(base.replace(beta=0.01), logits_fn, x, y)
  both = ok0 & ok1 & (l2_1 > 0)  # the L1 term can leave a misclassified x as it is
  assert both.mean() > 0.7
  # beta = 0 leaves only the squared L2 term (the shrinkage is a box projection):
  # dense perturbations, large in L1 for their L2; the L1 term makes them sparse.
  changed = lambda x_adv: (np.abs(np.asarray(x_adv - x)) > 1e-6).reshape(64, -1).sum(1)
  assert np.mean(changed(x0)[both]) > 2 * np.mean(changed(x1)[both])
  assert np.mean(l1_0[both]) > 1.5 * np.mean(l1_1[both])
  assert np.mean(l1_0[both] / l2_0[both]) > np.mean(l1_1[both] / l2_1[both])


# ---------------------------------------------------------------- bad values

@pytest.mark.parametrize("make, field", [
    (lambda: CW(c=-1.0), "c"), (lambda: CW(kappa=-1.0), "kappa"),
    (lambda: CW(learning_rate=0.0), "learning_rate"),
    (lambda: EAD(beta=-1.0), "beta"), (lambda: EAD(learning_rate=-1.0), "learning_rate"),
    (lambda: DeepFool(overshoot=-0.1), "overshoot")])
def test_bad_numeric_values_raise_naming_the_field(make, field):
  logits_fn, _, x, y = _linear(classes=3)
  with pytest.raises(ValueError, match=field):
    make()(logits_fn, x, y)


@pytest.mark.parametrize("make, field", [
    (lambda: CW(binary_search_steps=0), "binary_search_steps"),
    (lambda: EAD(steps=0), "steps"), (lambda: DeepFool(num_classes=1), "num_classes")])
def test_bad_static_values_raise_at_construction(make, field):
  with pytest.raises(ValueError, match=field):
    make()


def test_unknown_decision_rule_lists_the_choices():
  with pytest.raises(ValueError, match=r"decision_rule.*valid choices: \('EN', 'L1'\)"):
    EAD(decision_rule="L2")


@pytest.mark.parametrize("low, high", [
    (CW(c=0.1, steps=30), CW(c=100.0, steps=30)),
    (EAD(c=0.1, steps=10, binary_search_steps=1), EAD(c=100.0, steps=10, binary_search_steps=1)),
    (DeepFool(steps=3, overshoot=0.0), DeepFool(steps=3, overshoot=0.5))])
def test_stacked_attacks_vmap_over_their_numeric_fields(low, high):
  logits_fn, _, x, y = _linear(classes=3)
  stacked = jax.tree.map(lambda *v: jnp.stack(v), low, high)
  with jax.enable_x64(True):  # two programs: compared in float64 (tests/numerics.py)
    x64 = numerics.to64(x)
    swept = jax.jit(jax.vmap(lambda a: a(logits_fn, x64, y)))(stacked)
    for i, attack in enumerate((low, high)):
      numerics.assert_agree(swept[i], attack(logits_fn, x64, y), logits_fn, y)
  assert _l2(swept[1] - x64).mean() > _l2(swept[0] - x64).mean()
