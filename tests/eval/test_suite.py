"""Attack suites by name: one vocabulary (the attack registry) for every config and binary."""

import pytest

from jaxrobust import attacks
from jaxrobust.eval import suite as jr_suite


def test_a_step_count_suffix_sets_the_steps_and_madrys_step():
  pgd = jr_suite.make_attack("pgd20", eps=0.1)
  assert isinstance(pgd, attacks.PGD) and pgd.steps == 20
  assert pgd.step_size == pytest.approx(2.5 * 0.1 / 20) and pgd.random_start
  assert jr_suite.make_attack("mifgsm5", eps=0.1).steps == 5


def test_names_mean_what_the_registry_says():
  apgd = jr_suite.make_attack("apgd-ce", eps=0.1, steps=7)
  # One restart, as APGD's own default: not AutoAttack-plus's five.
  assert (apgd.loss, apgd.n_restarts, apgd.steps) == ("ce", 1, 7)
  assert jr_suite.make_attack("apgd-dlr", eps=0.1).loss == "dlr"
  assert jr_suite.make_attack("square", eps=0.1, n_queries=30).n_queries == 30
  fgsm = jr_suite.make_attack("fgsm", eps=1.5, norm="l2")  # FGSM has an L2 version
  assert fgsm.norm == "l2" and fgsm.eps == 1.5


def test_ensembles_are_split_into_their_components():
  suite = jr_suite.build_suite(["pgd5", "autoattack"], eps=0.1, steps=3, n_queries=10)
  assert list(suite.attacks) == ["pgd5"]
  assert list(suite.ensembles["autoattack"]) == ["apgd-ce", "apgd-t", "fab-t", "square"]
  assert suite.ensembles["autoattack"]["square"].n_queries == 10


@pytest.mark.parametrize("names, norm, words", [
    (["nonsense"], "linf", "valid names"),
    (["pgd0"], "linf", "steps"),
    (["cw"], "linf", "minimum-norm"),
    (["mifgsm"], "l2", "Linf attack"),
    (["square"], "l1", "valid choices"),
    (["pgd5", "pgd5"], "linf", "repeat"),
    ([], "linf", "no attack"),
    (["pgd5"], "l3", "valid choices"),
])
def test_bad_names_are_errors_that_say_why(names, norm, words):
  with pytest.raises(ValueError, match=words):
    jr_suite.build_suite(names, eps=0.1, norm=norm)
