"""Auto-PGD: PGD with momentum and a step size halved at checkpoints (APGD, APGD-T).

Budget-aware and free of step-size tuning: the step starts at 2 * eps and is
halved, per example, at checkpoints where progress stalled, restarting from the
best point found (`_apgd_run`). In L1 (l1-APGD, `_apgd_l1`), the step moves the
top-k coordinates of the gradient with an adaptive sparsity k, and each iterate
is projected exactly onto the intersection of the L1 ball and the box [0, 1]^d.
With `eot_iter` > 1 the loss and its gradient are averaged over draws of a
randomized model (Expectation over Transformation).

References:
  Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble
  of diverse parameter-free attacks", ICML 2020 (Algorithm 1, Sec. 3);
  Croce & Hein, "Mind the box: l1-APGD for sparse adversarial attacks on image
  classifiers", ICML 2021 (Sec. 3 and 4: projection, sparse step, schedule);
  Athalye, Carlini & Wagner, "Obfuscated Gradients Give a False Sense of
  Security", ICML 2018 (EOT).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrobust.attacks import _apgd_l1, _core
from jaxrobust.attacks._apgd_run import RunResult, expand, run
from jaxrobust.attacks._base import Attack, static
from jaxrobust.attacks._select import Kept, keep_first_success
from jaxrobust.losses import get_loss
from jaxrobust.losses.classification import dlr_targeted

APGD_NORMS = ("linf", "l2", "l1")
APGD_LOSSES = ("ce", "dlr")
# The stream of model draws (EOT) is folded off the attack's key with this
# constant, apart from the restarts' fold_in(key, r) of the random starts.
_MODEL_STREAM = 2**31 - 1


def _start(key, x, eps, norm):
  """The reference start: a random direction scaled to the sphere of radius eps
  (Linf: uniform noise with its largest coordinate at eps), clipped to the box.
  L1: standard Gaussian noise projected onto the L1 ball and the box (sparse)."""
  if norm == "l1":
    return _apgd_l1.start(key, x, eps)
  if norm == "linf":
    t = jax.random.uniform(key, x.shape, x.dtype, -1.0, 1.0)
  else:
    t = jax.random.normal(key, x.shape, x.dtype)
  t = t / expand(_core.norm(t, norm) + 1e-12, x)
  return _core.clip_to_box(x + jnp.asarray(eps, x.dtype) * t)


def best_over_runs(run_fn, logits_fn, x, y, n_runs: int) -> jax.Array:
  """Runs `run_fn(r) -> RunResult` for r < n_runs and keeps per example the
  misclassified point of the first run that finds one, else the highest-loss
  point; returns x_adv [batch, ...].

  As the reference, points already misclassified at x stay x, and a point
  fooled by a run is never attacked again: its later runs are computed only
  while some point is still robust (a skipped run leaves every result as is),
  and their results are discarded.
  """
  init = Kept(x, logits_fn(x).argmax(-1) != y, jnp.full(y.shape, -jnp.inf, x.dtype))

  def attack(r, kept):
    res = run_fn(r)
    found = jnp.where(expand(res.fooled, x), res.x_fooled, res.x_best)
    return keep_first_success(kept, Kept(found, res.fooled, res.loss_best))

  def body(r, kept):
    return jax.lax.cond(jnp.all(kept.success), lambda k: k, lambda k: attack(r, k), kept)

  return jax.lax.fori_loop(0, n_runs, body, init).x


@struct.dataclass
class _APGDBase(Attack):
  """The fields, checks and runs APGD and APGD-T share."""
  NORMS = APGD_NORMS
  NONNEGATIVE = ("eps",)
  PROBABILITIES = ("rho", "momentum")
  MINIMUMS = {"n_restarts": 1, "eot_iter": 1}
  RANDOMIZED = "random starts"

  eps: float = 0.3
  rho: float = 0.75
  momentum: float = 0.75
  steps: int = static(100)
  norm: str = static("linf")
  n_restarts: int = static(1)
  eot_iter: int = static(1)
  use_largereps: bool = static(False)

  def check_static(self):
    if not isinstance(self.use_largereps, (bool, np.bool_)):
      raise ValueError(f"use_largereps must be a bool, got {self.use_largereps!r}.")
    if self.use_largereps:
      if self.norm != "l1":
        raise ValueError(f"use_largereps applies to norm 'l1' only, got norm {self.norm!r}.")
      _apgd_l1.largereps_schedule(self.steps)

  def _model_key(self, key, r):
    """The key of run r's model draws (EOT), apart from its start's fold_in(key, r)."""
    return jax.random.fold_in(jax.random.fold_in(key, _MODEL_STREAM), r)

  def _clean_logits_fn(self, logits_fn, key):
    """x -> logits for the checks at the clean point: one draw of a randomized model."""
    if self.eot_iter == 1:
      return logits_fn
    return lambda z: logits_fn(z, self._model_key(key, _MODEL_STREAM))

  def _one_run(self, loss_fn, logits_fn, x, y, key, r) -> RunResult:
    """Run r for this norm and options."""
    start_key = jax.random.fold_in(key, r)
    common = dict(eot_iter=self.eot_iter,
                  key=None if self.eot_iter == 1 else self._model_key(key, r))
    if self.norm == "l1" and self.use_largereps:
      return _apgd_l1.run_l1_largereps(loss_fn, logits_fn, x, y, start_key, eps=self.eps,
                                       steps=self.steps, **common)
    x0 = _start(start_key, x, self.eps, self.norm)
    if self.norm == "l1":
      return _apgd_l1.run_l1(loss_fn, logits_fn, x, y, x0, eps=self.eps, steps=self.steps,
                             **common)
    return run(loss_fn, logits_fn, x, y, x0, eps=self.eps, rho=self.rho,
               momentum=self.momentum, steps=self.steps, norm=self.norm, **common)


@struct.dataclass
class APGD(_APGDBase):
  """Auto-PGD on the CE or DLR loss, in an Linf, L2 or L1 ball (untargeted).

  Linf / L2, per example: step 2 * eps halved at the checkpoints of
  `checkpoints(steps)` when the loss rose in fewer than rho of the interval's
  steps or the best loss stalled since the last unhalved checkpoint; momentum
  0.75. L1 (l1-APGD, `_apgd_l1.run_l1`): sparse steps on the top-k coordinates
  with an adaptive k, exact projection onto the L1 ball and the box, step eps
  adapted at checkpoints every 4% of the budget (rho and momentum unused); with
  `use_largereps`, each run spends 30%, 30% and 40% of its steps at radii
  3 eps, 2 eps and eps (`_apgd_l1.run_l1_largereps`, as AutoAttack in L1).
  `n_restarts` fresh random starts. Returns per example, as the AutoAttack reference, the
  misclassified point of the first run that finds one (that run's last
  misclassified iterate; x itself where x is already misclassified), else the
  highest-loss point over runs.

  Attributes:
    eps: radius of the ball.
    rho: halving threshold of condition 1 (0.75 in the paper).
    momentum: weight alpha of the new step against the previous one (0.75).
    steps: iterations per run (static; 100 in AutoAttack).
    norm: "linf", "l2" or "l1" (static).
    n_restarts: random restarts (static), each only for points still robust.
    eot_iter: model draws per iteration (static). 1: `logits_fn(x)` is
      deterministic. > 1: `logits_fn(x, key)` is a randomized model; the loss
      and its gradient are averaged over eot_iter draws, and the success checks
      use one draw (AutoAttack's "rand" version: 20).
    use_largereps: L1 only (static): radii 3 eps, 2 eps, eps in turn (AutoAttack
      L1 sets it); needs steps = 3 or >= 5.
    loss: "ce" or "dlr" (static).

  References: Croce & Hein, ICML 2020 (Linf, L2); Croce & Hein, "Mind the
  box", ICML 2021 (L1); Athalye et al., ICML 2018 (EOT).
  """
  loss: str = static("ce")

  def check_static(self):
    _core.check_choice("loss", self.loss, APGD_LOSSES)
    super().check_static()

  def run(self, logits_fn, x, y, key):
    base = get_loss(self.loss)
    loss_fn = lambda logits: base(logits, y)
    return best_over_runs(lambda r: self._one_run(loss_fn, logits_fn, x, y, key, r),
                          self._clean_logits_fn(logits_fn, key), x, y, self.n_restarts)


@struct.dataclass
class APGDT(_APGDBase):
  """APGD-T: APGD on the targeted DLR loss, against each of the top
  `n_target_classes` other classes of the clean prediction in turn.

  `y` is the TRUE label: the attack picks its targets itself (the 2nd, 3rd, ...
  largest clean logits) and succeeds when x_adv is misclassified, as the
  AutoAttack reference. Per example it keeps the misclassified point of the
  first run (targets in rank order, restarts within) that finds one, as `APGD`
  does (x itself if x is already misclassified), else the highest
  targeted-DLR point over runs.

  Attributes:
    eps, rho, momentum, steps, norm, eot_iter, use_largereps: as `APGD`.
    n_restarts: restarts per target class (static; 1 in AutoAttack).
    n_target_classes: how many top non-true classes to target (static; 9).

  References: Croce & Hein, ICML 2020, Sec. 4 (APGD-T with the targeted DLR
  loss); Croce & Hein, ICML 2021 (L1).
  """
  MINIMUMS = {**_APGDBase.MINIMUMS, "n_target_classes": 1}

  n_target_classes: int = static(9)

  def run(self, logits_fn, x, y, key):
    clean_fn = self._clean_logits_fn(logits_fn, key)
    clean = clean_fn(x)
    classes = clean.shape[-1]
    if self.n_target_classes > classes - 1:
      raise ValueError(f"n_target_classes must be <= classes - 1 = {classes - 1}, "
                       f"got {self.n_target_classes}.")
    # Targets by decreasing clean logit, the top one (the prediction) left out.
    ranked = jnp.argsort(-clean, axis=-1)[:, 1:self.n_target_classes + 1]

    def run_fn(r):
      target = jax.lax.dynamic_index_in_dim(ranked, r // self.n_restarts, axis=1,
                                            keepdims=False)
      return self._one_run(lambda logits: dlr_targeted(logits, y, target), logits_fn,
                           x, y, key, r)

    return best_over_runs(run_fn, clean_fn, x, y, self.n_target_classes * self.n_restarts)
