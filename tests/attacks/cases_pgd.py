"""Conformance cases of PGD and of restarts."""

from jaxrobust import attacks
from tests.attacks.cases import EPS, Case

CASES = {
    "pgd_linf": Case(attacks.PGD(eps=EPS["linf"], step_size=0.025, steps=10)),
    "pgd_l2": Case(attacks.PGD(eps=EPS["l2"], step_size=0.4, steps=10, norm="l2"), "l2"),
    "pgd_l1": Case(attacks.PGD(eps=EPS["l1"], step_size=5.0, steps=20, norm="l1"), "l1"),
    "pgd_linf_restarts": Case(attacks.Restarts(
        attacks.PGD(eps=EPS["linf"], step_size=0.025, steps=10), restarts=2)),
}
