"""What the conformance suite needs to know about one attack.

Each attack family lists its cases in its own `tests/attacks/cases_<family>.py`
as `CASES = {name: Case(...)}`; `test_conformance.py` collects every such file,
so a new attack is covered by adding one line there.
"""

import dataclasses
from typing import Any, Optional

# Radii of the suite, per norm, in pixel units of 28x28x1 MNIST in [0, 1].
EPS = {"linf": 0.1, "l2": 1.5, "l1": 15.0}


@dataclasses.dataclass(frozen=True)
class Case:
  """One attack configured for the suite.

  attack: the attack object, at radius EPS[norm] when `norm` is set.
  norm: the ball it stays in ("linf", "l2", "l1"), or None for minimum-norm
    attacks (CW, EAD, DeepFool), which have no radius: the eps = 0 and ball
    tests are skipped for them.
  targeted: whether it supports `targeted=True` (y are the targets).
  target_eps_scale: radius multiplier for the targeted test (a chosen target
    needs a larger budget than any misclassification).
  randomized_model: the attack expects `logits_fn(x, key)` (EOT); the suite
    passes the deterministic model as `lambda x, key: logits_fn(x)`.
  min_drop: accuracy drop (absolute) the attack must cause on the trained model.
  bad_fields: ((field, bad value), ...) that must raise a ValueError naming the field.
  slow: run in the slow tier only (`scripts/test --slow`): a costly variant whose
    family is covered in the default tier by a sibling case.
  """
  attack: Any
  norm: Optional[str] = "linf"
  targeted: bool = True
  target_eps_scale: float = 2.0
  randomized_model: bool = False
  min_drop: float = 0.3
  bad_fields: tuple = ()
  slow: bool = False
