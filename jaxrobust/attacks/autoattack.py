"""AutoAttack: the parameter-free ensemble of Croce & Hein, with its fixed budgets.

Versions (as the reference implementation's `set_version`):
  standard, Linf/L2: APGD-CE, APGD-T (9 targets), FAB-T (9 targets), Square
    (5,000 queries), one restart each, 100 iterations.
  standard, L1: APGD-CE (5 restarts) and APGD-T (5 targets), both at 3, 2
    then 1 times eps (the reference's use_largereps), then FAB-T; Square has no
    L1 version.
  plus: APGD-CE and APGD-DLR (5 restarts), FAB (5 restarts), Square, APGD-T,
    FAB-T (AA+).
  rand: APGD-CE and APGD-DLR with EOT over 20 draws, for randomized models
    (`logits_fn(x, key)`).

`components()` gives the ordered attacks; `jaxrobust.eval.EnsembleEvaluator`
runs them on the points still robust (the reference protocol, and the
RobustBench number). Calling the object runs the same worst case as one pure,
jit-able function on the whole batch (every point is attacked by every
component; a point keeps the first adversarial example found).

References:
  Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble
  of diverse parameter-free attacks", ICML 2020.
"""

from __future__ import annotations

import jax
from flax import struct

from jaxrobust.attacks import _core
from jaxrobust.attacks._base import Attack, static
from jaxrobust.attacks._select import Kept, keep_first_success
from jaxrobust.attacks.apgd import APGD, APGDT
from jaxrobust.attacks.fab import FAB, FABT
from jaxrobust.attacks.square import Square

VERSIONS = ("standard", "plus", "rand")
BLACKBOX = ("square",)  # components that use no gradient


@struct.dataclass
class AutoAttack(Attack):
  """The AutoAttack ensemble at radius eps.

  Attributes:
    eps: radius of the threat model (pytree leaf).
    norm: "linf", "l2" or "l1" (static).
    version: "standard", "plus" or "rand" (static).
    steps: iterations of APGD / FAB (static; 100 in the reference).
    n_queries: Square's query budget (static; 5,000 in the reference).
    n_target_classes: targets of APGD-T / FAB-T (static; 9 in the reference,
      5 for APGD-T in L1).
    eot_iter: EOT draws of the rand version (static; 20 in the reference).
  """
  MINIMUMS = {"n_queries": 1, "n_target_classes": 1, "eot_iter": 1}
  RANDOMIZED = "APGD and Square start at random points"

  eps: float = 0.3
  norm: str = static("linf")
  version: str = static("standard")
  steps: int = static(100)
  n_queries: int = static(5000)
  n_target_classes: int = static(9)
  eot_iter: int = static(20)

  def check_static(self):
    _core.check_choice("version", self.version, VERSIONS)
    if self.version == "rand" and self.eot_iter < 2:
      raise ValueError("version='rand' attacks a randomized logits_fn(x, key) by EOT: "
                       f"eot_iter must be >= 2, got {self.eot_iter}.")

  def components(self) -> dict:
    """The ordered attacks of this version: name -> attack."""
    eps, norm, steps = self.eps, self.norm, self.steps
    targets = min(self.n_target_classes, 5) if norm == "l1" else self.n_target_classes
    # L1: APGD runs at 3, 2, then 1 times eps (the reference's use_largereps).
    largereps = norm == "l1"
    apgd = lambda loss, restarts, **kw: APGD(eps=eps, steps=steps, norm=norm, loss=loss,
                                            n_restarts=restarts, use_largereps=largereps, **kw)
    apgd_t = APGDT(eps=eps, steps=steps, norm=norm, n_target_classes=targets, n_restarts=1,
                   use_largereps=largereps)
    fab_t = FABT(eps=eps, steps=steps, norm=norm,
                 n_target_classes=self.n_target_classes, n_restarts=1)
    # redraw_noops=False: the reference's Square, which spends a query on a
    # proposal that leaves its window unchanged (ours redraws by default).
    square = lambda: Square(eps=eps, n_queries=self.n_queries, p_init=0.8, n_restarts=1,
                            norm=norm, redraw_noops=False)
    if self.version == "standard":
      if norm == "l1":
        return {"apgd-ce": apgd("ce", 5), "apgd-t": apgd_t, "fab-t": fab_t}
      return {"apgd-ce": apgd("ce", 1), "apgd-t": apgd_t, "fab-t": fab_t,
              "square": square()}
    if self.version == "plus":
      out = {"apgd-ce": apgd("ce", 5), "apgd-dlr": apgd("dlr", 5),
             "fab": FAB(eps=eps, steps=steps, norm=norm, n_restarts=5)}
      if norm != "l1":
        out["square"] = square()
      return {**out, "apgd-t": apgd_t, "fab-t": fab_t}
    return {"apgd-ce": apgd("ce", 1, eot_iter=self.eot_iter),
            "apgd-dlr": apgd("dlr", 1, eot_iter=self.eot_iter)}

  def run(self, logits_fn, x, y, key):
    """Worst case over the components, each on the whole batch; logits_fn is
    (x, key) -> logits for version "rand"."""
    predict = ((lambda z, k: logits_fn(z, k).argmax(-1)) if self.version == "rand"
               else (lambda z, k: logits_fn(z).argmax(-1)))
    kept = Kept(x, predict(x, key) != y)
    for i, attack in enumerate(self.components().values()):
      k_attack, k_check = jax.random.split(jax.random.fold_in(key, i))
      candidate = attack(logits_fn, x, y, key=k_attack)
      kept = keep_first_success(kept, Kept(candidate, predict(candidate, k_check) != y))
    return kept.x
