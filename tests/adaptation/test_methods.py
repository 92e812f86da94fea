"""Every registered method: a finite loss that a few optimizer steps lower on a toy pair;
the registry's names and options; bad input gets a clear error."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrobust import adaptation
from jaxrobust.adaptation import ADAPTATION_METHODS
from jaxrobust.adaptation.training import init_params
from tests.adaptation._toy import toy_nets, toy_pair


def _descend(method, progress, steps=15):
  """The method's loss before and after `steps` Adam steps on the toy pair."""
  pair = toy_pair()
  net, disc = toy_nets(pair)
  has_disc = method.discriminator_dim(8, 3) is not None
  params = init_params(net, disc if has_disc else None, method, pair, 8, jax.random.key(0))
  xs, ys = jnp.asarray(pair.source_train.images), jnp.asarray(pair.source_train.labels)
  xt = jnp.asarray(pair.target_train.images)
  loss_fn = lambda p: method.loss(net, disc if has_disc else None, p, xs, ys, xt,
                                  progress=progress, key=jax.random.key(1))
  tx = optax.adam(1e-2)

  @jax.jit
  def run(params):
    def body(carry, _):
      p, s = carry
      (loss, _), g = jax.value_and_grad(loss_fn, has_aux=True)(p)
      u, s = tx.update(g, s, p)
      return (optax.apply_updates(p, u), s), loss
    (p, _), losses = jax.lax.scan(body, (params, tx.init(params)), jnp.arange(steps))
    return losses, loss_fn(p)

  losses, (final, metrics) = run(params)
  return float(losses[0]), float(final), jax.tree.map(float, metrics)


@pytest.mark.parametrize("name", ADAPTATION_METHODS.names())
def test_loss_is_finite_and_a_few_steps_lower_it(name):
  # At progress 0 the adversarial weight lambda_0 is 0: every term is minimised
  # (the discriminator learns, the features feel nothing), so the loss must fall.
  first, last, metrics = _descend(ADAPTATION_METHODS.make(name), progress=0.0)
  assert np.isfinite(first) and np.isfinite(last)
  assert last < 0.8 * first, (name, first, last)
  assert all(np.isfinite(v) for v in metrics.values())
  assert metrics["coeff"] == 0.0


def test_class_conditional_alignment_is_minimised_when_it_is_on():
  # adversarial=0 makes the objective a plain minimisation at progress 1.
  method = adaptation.ClassConditional(adversarial=0.0, alignment=5.0)
  first, last, metrics = _descend(method, progress=1.0, steps=25)
  assert last < 0.8 * first
  assert metrics["alignment"] >= 0.0


def test_adversarial_coefficient_follows_the_schedule():
  _, _, metrics = _descend(adaptation.DANN(weight=0.5), progress=1.0, steps=1)
  assert metrics["coeff"] == pytest.approx(0.5 * float(adaptation.dann_coefficient(1.0)))
  assert 0.0 <= metrics["domain_accuracy"] <= 1.0


def test_registry_names_and_presets():
  assert ADAPTATION_METHODS.names() == ("source_only", "dann", "cdan", "cdan_e", "class_conditional",
                             "class_conditional_mmd")
  assert ADAPTATION_METHODS.make("class_conditional_mmd").adversarial == 0.0
  assert ADAPTATION_METHODS.make("cdan_e").entropy
  assert not ADAPTATION_METHODS.make("cdan").entropy
  dann = ADAPTATION_METHODS.from_config({"name": "dann", "weight": 0.3})
  assert dann == adaptation.DANN(weight=0.3)
  assert "entropy" not in ADAPTATION_METHODS.options("cdan_e")  # fixed by the name


def test_bad_input_gets_clear_errors():
  with pytest.raises(ValueError, match="Unknown adaptation method 'mmd'.*class_conditional"):
    ADAPTATION_METHODS.make("mmd")
  with pytest.raises(ValueError, match=r"Unknown option\(s\) \['alignment'\].*dann"):
    ADAPTATION_METHODS.make("dann", alignment=1.0)
  with pytest.raises(ValueError, match="DANN.weight must be finite and >= 0"):
    adaptation.DANN(weight=-1.0)
  with pytest.raises(ValueError, match=r"confidence must be finite and >= 0 and <= 1"):
    adaptation.ClassConditional(confidence=1.5)
  with pytest.raises(ValueError, match="randomized_dim must be an integer >= 0"):
    adaptation.CDAN(randomized_dim=-2)
  pair = toy_pair()
  net, disc = toy_nets(pair)
  method = adaptation.DANN()
  params = init_params(net, disc, method, pair, 8, jax.random.key(0))
  xs, ys = jnp.asarray(pair.source_train.images), jnp.asarray(pair.source_train.labels)
  with pytest.raises(ValueError, match="needs source and target examples"):
    method.loss(net, disc, params, xs, ys, xs[:0], progress=0.5, key=jax.random.key(0))
  with pytest.raises(ValueError, match="one resolution"):
    method.loss(net, disc, params, xs, ys, xs[:, :4, :4], progress=0.5, key=jax.random.key(0))
  with pytest.raises(ValueError, match=r"ys must lie in \[0, 3\)"):
    method.loss(net, disc, params, xs, ys + 3, xs, progress=0.5, key=jax.random.key(0))
