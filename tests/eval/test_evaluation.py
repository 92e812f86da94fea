"""Ensembles attack only the points still robust; several models evaluate together by vmap."""

import functools

import jax
import numpy as np
import pytest

from jaxrobust import attacks, data, train
from jaxrobust.eval import EnsembleEvaluator, Evaluator, evaluate_models, stack_variables
from jaxrobust.eval.evaluator import batch_plan, padded_size

EPS = 0.1


@pytest.fixture(scope="module")
def two_models(tiny_runs):
  runs = [train.load_trained(w) for w in tiny_runs]
  test = data.load("mnist5k", "test")
  apply_fn = functools.partial(runs[0].model.apply, train=False)
  return runs, apply_fn, test.images[:150], test.labels[:150]


def test_restored_model_matches_the_trained_state(tiny_runs, two_models):
  runs, apply_fn, images, labels = two_models
  assert runs[0].epoch == 1 and runs[0].fingerprint["dataset"] == "mnist5k"
  accuracy = Evaluator(apply_fn, {"clean": None}, 100)(
      runs[0].variables, images, labels, key=jax.random.key(0))["clean"]
  assert accuracy > 0.5  # a trained model, not a fresh initialisation


def test_ensemble_is_the_sequential_worst_case_on_robust_points(two_models):
  runs, apply_fn, images, labels = two_models
  fgsm = attacks.FGSM(eps=EPS)
  pgd = attacks.PGD(eps=EPS, step_size=EPS / 4, steps=5)
  key = jax.random.key(3)
  out = EnsembleEvaluator(apply_fn, {"fgsm": fgsm, "pgd": pgd}, 64).correct(
      runs[0].variables, images, labels, key=key)
  single = Evaluator(apply_fn, {"clean": None, "fgsm": fgsm}, 64).correct(
      runs[0].variables, images, labels, key=key)
  np.testing.assert_array_equal(out["clean"], single["clean"])
  # FGSM is deterministic: its stage equals running it on every point.
  np.testing.assert_array_equal(out["after"]["fgsm"], single["clean"] & single["fgsm"])
  assert np.all(out["robust"] <= out["after"]["fgsm"])  # never un-breaks a point
  np.testing.assert_array_equal(out["robust"], out["after"]["pgd"])
  # PGD ran only on the survivors: the points it broke were robust to FGSM.
  broken_by_pgd = out["after"]["fgsm"] & ~out["robust"]
  assert broken_by_pgd.sum() > 0


def test_short_batches_pad_to_a_power_of_two_not_a_full_batch(two_models):
  # An ensemble's later attacks see only the survivors; padding them to the full
  # batch would cost as much as attacking every point.
  assert [padded_size(n, 64) for n in (1, 3, 22, 33, 64)] == [1, 4, 32, 64, 64]
  # On CPU a remainder that would waste over 1/8 of its batch is split into
  # power-of-two batches (only compiled shapes); accelerators pad it whole.
  assert batch_plan(150, 64, 0.125) == [(0, 64), (64, 64), (128, 16), (144, 8)]
  assert batch_plan(360, 500, 0.125) == [(0, 256), (256, 64), (320, 32), (352, 8)]
  assert batch_plan(150, 64, 1.0) == [(0, 64), (64, 64), (128, 32)]
  assert batch_plan(5, 64, 0.125) == [(0, 8)]  # small batches are never split
  for n in range(1, 130):
    plan = batch_plan(n, 64, 0.125)
    starts = [s for s, _ in plan]
    assert starts == sorted(starts) and plan[0][0] == 0
    covered = sum(min(rows, n - s) for s, rows in plan)
    assert covered == n and all(rows & (rows - 1) == 0 or rows == 64 for _, rows in plan)
    assert sum(r for _, r in plan) - n <= max(n // 7, 7)  # waste <= 1/8 of the rows run
  runs, apply_fn, images, labels = two_models
  traced = []

  def recording_apply(variables, x):
    traced.append(x.shape[0])
    return apply_fn(variables, x)

  fgsm = {"fgsm": attacks.FGSM(eps=EPS)}
  full = Evaluator(recording_apply, fgsm, 64).correct(
      runs[0].variables, images, labels, key=jax.random.key(0))["fgsm"]
  expected = {64, 16, 8} if jax.default_backend() == "cpu" else {64, 32}
  assert set(traced) == expected  # 150 = 64 + 64 + 22 -> 64, 64, 16 + 8 (CPU) or 32
  few = Evaluator(apply_fn, fgsm, 64).correct(
      runs[0].variables, images[:5], labels[:5], key=jax.random.key(0))["fgsm"]
  np.testing.assert_array_equal(few, full[:5])  # padding never changes a result


def test_stacked_models_equal_separate_evaluations(two_models):
  runs, apply_fn, images, labels = two_models
  suite = {"pgd": attacks.PGD(eps=EPS, step_size=EPS / 4, steps=5)}
  key = jax.random.key(1)
  stacked = Evaluator(apply_fn, {"clean": None, **suite}, 64, stacked=True).correct(
      stack_variables([r.variables for r in runs]), images, labels, key=key)
  for j, r in enumerate(runs):
    alone = Evaluator(apply_fn, {"clean": None, **suite}, 64).correct(
        r.variables, images, labels, key=key)
    for name in alone:
      np.testing.assert_array_equal(stacked[name][j], alone[name])
  assert not np.array_equal(stacked["clean"][0], stacked["clean"][1])  # two models


def test_evaluate_models_report(two_models):
  runs, apply_fn, images, labels = two_models
  reports = evaluate_models(
      apply_fn, [r.variables for r in runs], images, labels, num_classes=10,
      attacks={"fgsm": attacks.FGSM(eps=EPS)},
      ensembles={"mini": {"fgsm": attacks.FGSM(eps=EPS),
                          "pgd": attacks.PGD(eps=EPS, step_size=EPS / 4, steps=5)}},
      curve_eps=(0.0, 0.05, 0.1), curve_steps=5, key=jax.random.key(0), batch_size=64)
  assert len(reports) == 2
  for r in reports:
    assert r["curve"]["accuracy"][0] == pytest.approx(r["clean_accuracy"])
    assert r["curve"]["accuracy"][2] <= r["curve"]["accuracy"][0]
    after = r["ensembles"]["mini"]["after"]
    assert r["clean_accuracy"] >= after["fgsm"] >= after["pgd"]
    assert after["fgsm"] == pytest.approx(r["robust_accuracy"]["fgsm"])
    assert r["worst_case_accuracy"] == pytest.approx(r["ensembles"]["mini"]["robust_accuracy"])
    per_class = r["per_class_accuracy"]["clean"]
    counts = np.bincount(labels, minlength=10)
    assert np.dot(per_class, counts) / counts.sum() == pytest.approx(r["clean_accuracy"])


def test_stacking_different_architectures_fails(two_models):
  runs, *_ = two_models
  other = jax.tree.map(lambda a: a[..., :1], runs[1].variables)
  with pytest.raises(ValueError, match="architecture"):
    stack_variables([runs[0].variables, other])


def test_load_trained_errors(tmp_path, tiny_runs):
  with pytest.raises(FileNotFoundError, match="checkpoints"):
    train.load_trained(str(tmp_path))
  with pytest.raises(ValueError, match="saved epochs"):
    train.load_trained(tiny_runs[0], epoch=7)


def test_load_trained_restores_the_clean_weights_of_a_psatt_run(tmp_path):
  from experiments.configs import tiny
  config = tiny.get_config()
  config.defense = {"name": "standard"}
  config.epochs = 1
  config.optimizer.sam = {"rho": 0.05, "kind": "psatt", "period": 2}
  result = train.fit(config, str(tmp_path))
  restored = train.load_trained(str(tmp_path))
  assert restored.fingerprint["sharpness_aware"] == "psatt"
  expected = train.variables(result.state)  # w = (w + e) - e
  jax.tree.map(np.testing.assert_array_equal, restored.variables, expected)
  moved = jax.tree.map(lambda a, b: np.abs(np.asarray(a) - np.asarray(b)).max(),
                       result.state.params, expected["params"])
  assert max(jax.tree.leaves(moved)) > 0  # the trained-at point differs from w
