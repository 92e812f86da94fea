"""Conformance cases of the score-based black-box attacks (Square, single Fourier)."""

from jaxrobust.attacks.fourier import SingleFourier
from jaxrobust.attacks.square import Square
from tests.attacks.cases import EPS, Case

_SQUARE_BAD = (("n_queries", 0), ("n_restarts", 0), ("p_init", 1.5))
# 16 frequencies (u, v in {0, 7, 14, 21}) and 2 signs: one forward pass per
# 32 candidates. The full search (784 frequencies) is in test_fourier's scope.
_GRID = tuple((u, v) for u in range(0, 28, 7) for v in range(0, 28, 7))

CASES = {
    # Random search needs thousands of queries to reach chosen targets on this
    # model, so the suite's targeted check (100 queries budget) is left to
    # test_square.py, on a linear model. Measured at 100 queries on the 500
    # points: 96.4% -> 87.4% (Linf), 89.0% (L2).
    "square_linf": Case(Square(eps=EPS["linf"], n_queries=100), targeted=False,
                        min_drop=0.05, bad_fields=_SQUARE_BAD),
    "square_l2": Case(Square(eps=EPS["l2"], n_queries=100, norm="l2"), "l2", targeted=False,
                      min_drop=0.05, bad_fields=_SQUARE_BAD),
    # One Fourier direction is a weak attack on this model (all 784 frequencies
    # at Linf 0.1: 95% -> 87% on the first 100 points); the grid's drop is
    # smaller still (measured 96.4% -> 93.4% on the 500 points; L2 at 1.5: 95.0%).
    "single_fourier_linf": Case(SingleFourier(eps=EPS["linf"], norm="linf", frequencies=_GRID),
                                targeted=False, min_drop=0.015,
                                bad_fields=(("chunk_size", 0), ("frequencies", ((28, 0),)))),
}
