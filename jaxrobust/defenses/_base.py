"""What every training objective receives and returns."""

from __future__ import annotations

from typing import Callable, ClassVar, Protocol

import jax

from jaxrobust import _checks

LogitsFn = Callable[[jax.Array], jax.Array]


class Defense(Protocol):
  """A training objective for one batch.

  Called as `defense(train_logits_fn, eval_logits_fn, x, y, key=key)`:
    train_logits_fn: the model in training mode, differentiated w.r.t. the
      parameters; call it at the top level (not under vmap/scan) because it
      also records BatchNorm statistics. The last top-level call's statistics
      are kept; a model with BatchNorm called only under vmap/scan/cond/grad is
      an error (jaxrobust/train/_aux.py).
    eval_logits_fn: the model in evaluation mode with parameters held fixed:
      what inner attacks see (as in Madry et al. and Zhang et al.'s TRADES code).
    x: inputs [batch, ...] in [0, 1]; y: labels [batch]; key: PRNG key.
  Both logits functions also take an optional second argument, a PRNG key that
  draws a randomized model's network (`jaxrobust.models.randomized`; the train
  step supplies one per step otherwise; deterministic models ignore it).
  Returns (loss [batch], metrics: dict of [batch] arrays averaged by the caller).
  """

  def __call__(self, train_logits_fn: LogitsFn, eval_logits_fn: LogitsFn,
               x: jax.Array, y: jax.Array, *, key: jax.Array
               ) -> tuple[jax.Array, dict[str, jax.Array]]:
    ...


def accuracy(logits: jax.Array, y: jax.Array) -> jax.Array:
  """Per-example 0/1 correctness, [batch] float32."""
  return (logits.argmax(-1) == y).astype(jax.numpy.float32)


def check_nonnegative_fields(defense, names) -> None:
  """Each named numeric field, when concrete, is finite and >= 0 (for `__post_init__`)."""
  for name in names:
    _checks.check_number(f"{type(defense).__name__}.{name}", getattr(defense, name), low=0)


class AdversarialDefense:
  """Base of the defenses whose loss is taken at inputs from an inner `attack`.

  A subclass is a `flax.struct.dataclass` with a field `attack` holding an
  attack object (a pytree: its numeric hyperparameters stay traceable) and
  writes `loss_at`. The attack is validated at construction (a bad eps fails
  then, not at the first step). `adversarial_inputs` and `loss_at` are the
  train step's hooks (AWP calls them separately).

  Class attributes a subclass sets:
    NONNEGATIVE: its own numeric fields that must be finite and >= 0.
    CLEAN_WITHOUT_ATTACK: attack=None is allowed and trains on x itself.
  """

  NONNEGATIVE: ClassVar[tuple[str, ...]] = ()
  CLEAN_WITHOUT_ATTACK: ClassVar[bool] = False

  def __post_init__(self):
    check_nonnegative_fields(self, self.NONNEGATIVE)
    if self.attack is not None:
      try:
        self.attack.validate()
      except ValueError as e:
        raise ValueError(f"{type(self).__name__}.attack: {e}") from None
    elif not self.CLEAN_WITHOUT_ATTACK:
      raise TypeError(f"{type(self).__name__} needs an attack object, e.g. "
                      f"attack=jaxrobust.attacks.PGD(eps=0.1, step_size=0.025, steps=10).")

  def adversarial_inputs(self, eval_logits_fn: LogitsFn, x, y, *, key) -> jax.Array:
    """x_adv [batch, ...] from the attack on the eval-mode model, held fixed
    (Danskin: the weight gradient is taken at a fixed x_adv); x without an attack."""
    if self.attack is None:
      return x
    return jax.lax.stop_gradient(self.attack(eval_logits_fn, x, y, key=key))

  def loss_at(self, train_logits_fn: LogitsFn, x, x_adv, y):
    """(loss [batch], metrics) at given adversarial inputs."""
    raise NotImplementedError

  def __call__(self, train_logits_fn, eval_logits_fn, x, y, *, key):
    return self.loss_at(train_logits_fn, x,
                        self.adversarial_inputs(eval_logits_fn, x, y, key=key), y)
