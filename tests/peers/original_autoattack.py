"""The original AutoAttack (fra31/auto-attack, registry package `pyautoattack` 0.2.0) as a peer.

`original_chain` runs the reference's standard version on a torch twin, one
component at a time on the points every earlier one failed to break (what its
`run_standard_evaluation` does internally), so that each component's
cumulative robust accuracy, wall time and model passes are seen; `ours_chain`
does the same with `EnsembleEvaluator` on the Flax model. Budgets other than
the reference ones (100 iterations, 5,000 queries) are set on the reference's
attack objects after `version="standard"` has set everything else (1 restart,
9 targets, Square p_init 0.8).

References:
  Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble
  of diverse parameter-free attacks", ICML 2020.
"""

from __future__ import annotations

import functools
import logging
import time

import jax
import numpy as np

from jaxrobust import data
from jaxrobust.attacks.autoattack import AutoAttack
from jaxrobust.eval import EnsembleEvaluator

NAMES = ("apgd-ce", "apgd-t", "fab-t", "square")  # the standard version, Linf


def original(twin, eps: float, steps: int, n_queries: int, seed: int = 0):
  """The reference's standard-version `AutoAttack` on `twin`, with these budgets."""
  import pyautoattack  # the peer: imported only where it is used (tests skip without it)
  logging.getLogger("auto-attack").setLevel(logging.WARNING)
  adversary = pyautoattack.AutoAttack(twin, norm="Linf", eps=eps, version="standard",
                                      seed=seed, device="cpu")
  adversary.verbose = False
  for attack in (adversary.apgd, adversary.apgd_targeted, adversary.fab):
    attack.n_iter = steps
  adversary.square.n_queries = n_queries
  return adversary


class RowCounter:
  """Rows through a torch module (forward hook): model passes, with or without backward."""

  def __init__(self, module):
    self.rows = 0
    self._handle = module.register_forward_hook(
        lambda m, inputs, out: self._add(inputs[0].shape[0]))

  def _add(self, rows):
    self.rows += int(rows)

  def remove(self):
    self._handle.remove()


def original_chain(twin, x, y, *, eps: float, steps: int, n_queries: int,
                   names=NAMES, seed: int = 0) -> dict:
  """The reference protocol on x NHWC float [n, h, w, c] in [0, 1], y [n].

  Returns {"clean": bool [n], "after": {name: bool [n] robust after it and all
  before}, "time_s": {name: s}, "passes": {name: rows / n}}.
  """
  import torch
  from tests.peers.torch_models import nhwc_to_nchw
  adversary = original(twin, eps, steps, n_queries, seed)
  xt = nhwc_to_nchw(np.asarray(x))
  yt = torch.from_numpy(np.array(y)).long()
  with torch.no_grad():
    robust = (twin(xt).argmax(1) == yt).numpy()
  out = {"clean": robust.copy(), "after": {}, "time_s": {}, "passes": {}}
  counter = RowCounter(twin)
  try:
    for name in names:
      tic, rows = time.perf_counter(), counter.rows
      alive = np.flatnonzero(robust)
      if alive.size:
        adversary.attacks_to_run = [name]
        x_adv, _ = adversary.run_standard_evaluation(xt[alive], yt[alive],
                                                     batch_size=len(alive))
        with torch.no_grad():
          robust[alive] = (twin(x_adv).argmax(1) == yt[alive]).numpy()
      out["after"][name] = robust.copy()
      out["time_s"][name] = time.perf_counter() - tic
      out["passes"][name] = (counter.rows - rows) / len(y)
  finally:
    counter.remove()
  return out


def ours_chain(model, variables, x, y, *, eps: float, steps: int, n_queries: int,
               names=NAMES, key=None, **options) -> dict:
  """Our `EnsembleEvaluator` over the same components: its `correct` output."""
  components = AutoAttack(eps=eps, steps=steps, n_queries=n_queries).components()
  ensemble = EnsembleEvaluator(functools.partial(model.apply, train=False),
                               {name: components[name] for name in names},
                               batch_size=len(y), **options)
  key = jax.random.key(0) if key is None else key
  return ensemble.correct(variables, np.asarray(data.to_float(x)), np.asarray(y), key=key)
