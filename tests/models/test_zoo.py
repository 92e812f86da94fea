"""The zoo registry against RobustBench 1.1.1's own entry tables and classes.

Every CIFAR entry of `ZOO` is checked against the model RobustBench's entry builds (at full
size, weights allocated but never initialized: only shapes and types are compared): the
state_dict's keys and shapes fit our model, its normalization buffers or attributes are
ours, and so are its activation and block conventions (the parts no key check sees).
Numerical agreement of every architecture kind is in test_robustbench_parity.py; here one
entry, Ding2020MMA (its per-image standardization included), is loaded end to end by
`zoo.load` from a RobustBench-style checkpoint and agrees with RobustBench's class.
"""

from tests.peers import require_peers
from tests.peers import robustbench_classes as rb

require_peers()
rb.require_robustbench()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from jaxrobust.models import convert, zoo  # noqa: E402
from jaxrobust.models.zoo.entry import THREAT_MODELS  # noqa: E402
from tests.models.test_robustbench_parity import agreement, randomized  # noqa: E402

ACTIVATIONS = {"ReLU": "relu", "Swish": "swish", "SiLU": "silu", "GELU": "gelu"}
CIFAR = [k for k in zoo.ZOO.names() if not k.startswith("imagenet/")]


def _robustbench_entry(key: str):
  dataset, threat, name = key.split("/", 2)
  return rb.entries(dataset)[THREAT_MODELS[threat]][name]


def _tensor_tuple(value) -> tuple[float, ...]:
  return tuple(float(v) for v in value.reshape(-1))


@pytest.mark.parametrize("key", CIFAR)
def test_entry_fits_robustbench_model(key):
  entry = zoo.ZOO.make(key)
  twin = rb.build_uninitialized(_robustbench_entry(key)["model"])
  model = zoo.build(entry)
  # Keys and shapes; mu/sigma buffers (where the twin has them) must equal our mean/std.
  convert.check_state_dict(twin.state_dict(), model, entry.input_shape)

  kinds = {type(m).__name__ for m in twin.modules()}
  found = {ACTIVATIONS[k] for k in kinds & set(ACTIVATIONS)}
  ours = getattr(model, "activation", "relu")
  assert found <= {ours}, f"{key}: RobustBench's activations {found}, ours {ours!r}"

  if isinstance(getattr(twin, "mean", None), torch.Tensor):  # DeepMind's models
    assert np.allclose(_tensor_tuple(twin.mean), entry.mean, atol=1e-6)
    assert np.allclose(_tensor_tuple(twin.std), entry.std, atol=1e-6)
  # Input transforms written in forward(), which neither keys nor buffers show.
  in_forward = {"Hendrycks2019UsingNet": zoo.registry.HALF}
  if type(twin).__name__ in in_forward:
    assert (entry.mean, entry.std) == in_forward[type(twin).__name__]
  per_image = type(twin).__name__ == "Ding2020MMANet"
  assert entry.options.get("per_image_standardization", False) == per_image

  if entry.model == "preact_resnet18":  # PreActBlock and V2 share their keys
    block = twin.layer1[0]
    feeds_input = type(block).__name__ == "PreActBlock" and not block.out_shortcut
    assert model.shortcut_input == feeds_input
    assert model.final_bn == bool(getattr(twin, "bn_before_fc", False))


def test_registry_covers_robustbench_and_says_what_it_refuses():
  """Every RobustBench 1.1.1 Linf/L2 entry is in ZOO or UNSUPPORTED; CIFAR-10 Linf >= 90%."""
  counts = {}
  for dataset in zoo.DATASETS:
    for threat, spelled in THREAT_MODELS.items():
      names = rb.entries(dataset).get(spelled, {})
      keys = [f"{dataset}/{threat}/{n}" for n in names]
      lost = [k for k in keys if k not in zoo.ZOO and k not in zoo.UNSUPPORTED]
      assert not lost, f"RobustBench entries neither supported nor refused: {lost}"
      counts[f"{dataset}/{threat}"] = (sum(k in zoo.ZOO for k in keys), len(keys))
  extra = [k for k in list(zoo.ZOO.names()) + list(zoo.UNSUPPORTED)
           if k.split("/", 2)[2] not in rb.entries(k.split("/")[0])[THREAT_MODELS[
               k.split("/")[1]]]]
  assert not extra, f"zoo keys that are not RobustBench 1.1.1 entries: {extra}"
  print("supported / RobustBench 1.1.1 entries:", counts)
  supported, total = counts["cifar10/linf"]
  assert supported / total >= 0.9


# torchvision's parameter counts (torchvision.models docs), the ImageNet entries' layouts.
TORCHVISION_PARAMETERS = {(18, 1): 11_689_512, (50, 1): 25_557_032, (50, 2): 68_883_240}


@pytest.mark.parametrize("key", [k for k in zoo.ZOO.names() if k.startswith("imagenet/")])
def test_imagenet_entry_is_the_torchvision_resnet(key):
  """RobustBench's ImageNet entries are torchvision ResNets (torchvision is not among the
  peers; the layout's parity is tests/models/test_torch_import.py's)."""
  entry = zoo.ZOO.make(key)
  model = zoo.build(entry)
  shapes = jax.eval_shape(lambda: model.init(jax.random.key(0),
                                             jnp.zeros((1, *entry.input_shape))))
  count = sum(int(np.prod(s.shape)) for s in jax.tree.leaves(shapes["params"]))
  assert count == TORCHVISION_PARAMETERS[(model.depth, model.width_multiplier)]


def test_load_agrees_with_robustbench_class(tmp_path):
  """A RobustBench-style checkpoint ({"state_dict": ...} with DataParallel's "module."
  prefix) of Ding2020MMANet, random weights, loads by name and gives its logits."""
  twin = randomized(rb.zoo_module("cifar10").Ding2020MMANet())
  path = tmp_path / "Ding2020MMA.pt"
  torch.save({"state_dict": {f"module.{k}": v for k, v in twin.state_dict().items()},
              "epoch": 3}, path)
  model, variables, entry = zoo.load("Ding2020MMA", str(path), threat_model="linf")
  assert entry.key == "cifar10/linf/Ding2020MMA" and entry.autoattack_accuracy == 41.44
  logits, grads = agreement(twin, model, variables)
  assert logits < 1e-4 and grads < 1e-3


def test_load_refuses_a_file_with_another_digest(tmp_path):
  path = tmp_path / "x.pt"
  path.write_bytes(b"not the published file")
  with pytest.raises(ValueError, match="sha256 of .* is [0-9a-f]{64}, not the expected"):
    zoo.load("Carmon2019Unlabeled", str(path), sha256="0" * 64)


def test_missing_checkpoint_says_how_to_get_it(tmp_path):
  with pytest.raises(FileNotFoundError, match="load_model.*'Carmon2019Unlabeled'.*cifar10.*"
                                              "Linf.*models/cifar10/Linf"):
    zoo.load("Carmon2019Unlabeled", str(tmp_path / "absent.pt"))


@pytest.mark.parametrize("name, options, error, words", [
    ("Standard", {}, ValueError, "2 leaderboards"),
    ("Carmon2019Unlabled", {}, ValueError, "close names: ['Carmon2019Unlabeled']"),
    ("Pang2020Boosting", {}, NotImplementedError, "hypersphere head"),
    ("Carmon2019Unlabeled", {"dataset": "cifar11"}, ValueError,
     "Unknown dataset 'cifar11'; valid choices: ('cifar10', 'cifar100', 'imagenet')"),
    ("Carmon2019Unlabeled", {"threat_model": "Linf"}, ValueError,
     "Unknown threat_model 'Linf'; valid choices: ('linf', 'l2')"),
])
def test_find_names_the_problem(name, options, error, words):
  with pytest.raises(error) as info:
    zoo.find(name, **options)
  assert words in str(info.value)
