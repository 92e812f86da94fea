"""PyTorch checkpoints into the Flax models (jaxrobust.models.convert).

Each architecture: a torch twin in RobustBench's (or torchvision's) layout with
random weights and non-trivial BatchNorm statistics, wrapped with its input
normalization as RobustBench wraps ImageNet models, is saved, read back through
`load_torch_checkpoint` and must compute the same function in eval mode:
logits to 1e-4, cross-entropy input gradients to 1e-3.
"""

import argparse
import os

from tests.peers import require_peers

require_peers()

import flax.linen as nn  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from jaxrobust import models  # noqa: E402
from jaxrobust.models import convert  # noqa: E402
from tests.peers import torch_models as tm  # noqa: E402

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2471, 0.2435, 0.2616)

# name -> (torch twin builder, jaxrobust model name, its options, input shape).
# Narrow, shallow variants: the layouts are those of the full-size models.
ARCHS = {
    "preact_resnet18": (lambda: tm.TorchPreActResNet18(10, width=4), "preact_resnet18",
                        {"width": 4, "stem_features": 4}, (16, 16, 3)),
    # width 2: block1's first block has the projection shortcut, as WRN-28-10's does.
    "wide_resnet": (lambda: tm.TorchWideResNet(depth=10, widen_factor=2), "wide_resnet",
                    {"depth": 10, "width": 2}, (16, 16, 3)),
    "resnet18": (lambda: tm.TorchResNet(18, 10, width=4), "resnet", {"depth": 18, "width": 4},
                 (32, 32, 3)),
    "resnet50": (lambda: tm.TorchResNet(50, 10, width=4), "resnet", {"depth": 50, "width": 4},
                 (32, 32, 3)),
}


def _safetensors():
  """The safetensors package, or a skip (an error under CI, like the peers)."""
  if os.environ.get("CI"):
    import safetensors.numpy
    return safetensors.numpy
  return pytest.importorskip("safetensors.numpy")


class TorchNormalized(torch.nn.Module):
  """RobustBench's normalize_model: Sequential(normalize, model) with mean/std buffers."""

  def __init__(self, model, mean, std):
    super().__init__()
    self.normalize = torch.nn.Module()
    self.normalize.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
    self.normalize.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))
    self.model = model

  def forward(self, x):
    return self.model((x - self.normalize.mean) / self.normalize.std)


def _twin(arch, seed=0):
  torch.manual_seed(seed)
  build, *_ = ARCHS[arch]
  twin = build()
  with torch.no_grad():  # variance-preserving weights: logits of order 1, not 1e-5
    for m in twin.modules():
      if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
        torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
  tm.randomize_batchnorm(twin, seed)
  with torch.no_grad():  # damped residual branches, as in trained ResNet-50s: without,
    for m in twin.modules():  # 16 bottlenecks grow logits to ~100 and float32 rounding to 2e-4
      if isinstance(m, tm.TorchBottleneck):
        m.bn3.weight.mul_(0.3)
  return twin


def _state(module, prefix=""):
  return {prefix + k: v.numpy() for k, v in module.state_dict().items()}


def _agreement(twin, model, variables, shape):
  """(max |logit diff|, max |grad diff|, max |logit|, max |grad|) on 4 random inputs."""
  x = jax.random.uniform(jax.random.key(1), (4, *shape))
  y = jnp.arange(4) % 10

  z_jax, g_jax, z_torch, g_torch = tm.logits_and_input_grads(twin, model, variables, x, y)
  return (np.abs(z_torch - z_jax).max(), np.abs(g_torch - g_jax).max(), np.abs(z_jax).max(),
          np.abs(g_jax).max())


@pytest.mark.parametrize("arch", [
    "preact_resnet18", "wide_resnet", "resnet18",
    pytest.param("resnet50", marks=pytest.mark.slow)])
def test_checkpoint_agrees_with_torch(arch, tmp_path):
  """A .pt file of the normalized twin -> the same logits and input gradients."""
  _, name, options, shape = ARCHS[arch]
  twin = TorchNormalized(_twin(arch), MEAN, STD).eval()
  path = str(tmp_path / "model.pt")
  torch.save({"epoch": 3, "state_dict": twin.state_dict()}, path)
  model, variables = convert.load_torch_checkpoint(path, name, num_classes=10,
                                                   input_shape=shape, **options)
  np.testing.assert_allclose(model.mean, MEAN, rtol=1e-6)  # from the checkpoint's buffers
  np.testing.assert_allclose(model.std, STD, rtol=1e-6)
  assert set(variables) == {"params", "batch_stats"}
  logit_diff, grad_diff, logit_max, grad_max = _agreement(twin, model, variables, shape)
  print(f"{arch}: max |logit diff| {logit_diff:.2e}, max |grad diff| {grad_diff:.2e}")
  assert logit_diff < 1e-4 and grad_diff < 1e-3
  assert logit_max > 0.5 and grad_max > 1e-2  # not a comparison of near-zeros


def test_safetensors_and_pt_readers_agree(tmp_path):
  """Both readers give the same arrays; DataParallel's module. prefix is dropped."""
  st = _safetensors()
  state = _state(_twin("wide_resnet"), "module.")
  st.save_file(state, str(tmp_path / "m.safetensors"))
  torch.save({"model": {k: torch.from_numpy(v) for k, v in state.items()}},
             str(tmp_path / "m.pth"))
  a = convert.read_state_dict(str(tmp_path / "m.safetensors"))
  b = convert.read_state_dict(str(tmp_path / "m.pth"))
  assert sorted(a) == sorted(b) == sorted(state)
  for k in state:
    np.testing.assert_array_equal(a[k], b[k])
  _, name, options, shape = ARCHS["wide_resnet"]
  model, variables = convert.load_torch_checkpoint(
      str(tmp_path / "m.safetensors"), name, num_classes=10, input_shape=shape,
      mean=(0, 0, 0), std=(1, 1, 1), **options)
  kernel = variables["params"]["PreActBlock_0"]["Conv_0"]["kernel"]  # the shortcut, HWIO
  np.testing.assert_array_equal(
      kernel, state["module.block1.layer.0.convShortcut.weight"].transpose(2, 3, 1, 0))
  np.testing.assert_array_equal(variables["batch_stats"]["BatchNorm_0"]["var"],
                                state["module.bn1.running_var"])


def test_export_round_trip():
  """export_state_dict inverts import_state_dict on every tensor."""
  _, name, options, shape = ARCHS["resnet18"]
  state = _state(_twin("resnet18"))
  model = models.make(name, num_classes=10, mean=MEAN, std=STD, **options)
  back = convert.export_state_dict(model, convert.import_state_dict(state, model, shape), shape)
  assert sorted(back) == sorted(state)
  for k, v in state.items():
    if not k.endswith("num_batches_tracked"):
      np.testing.assert_array_equal(back[k], v, err_msg=k)


def test_trades_unused_sub_block_is_ignored():
  """TRADES' WideResNet saves a sub_block1 its forward pass never uses."""
  _, name, options, shape = ARCHS["wide_resnet"]
  torch.manual_seed(0)
  twin = tm.TorchWideResNet(depth=10, widen_factor=2, sub_block1=True)
  with_sub = _state(twin)
  assert any(k.startswith("sub_block1.") for k in with_sub)
  model = models.make(name, num_classes=10, mean=MEAN, std=STD, **options)
  variables = convert.import_state_dict(twin.state_dict(), model, shape)  # torch tensors too
  without = {k: v for k, v in with_sub.items() if not k.startswith("sub_block1.")}
  jax.tree.map(np.testing.assert_array_equal, variables,
               convert.import_state_dict(without, model, shape))


# ---------------------------------------------------------------- bad checkpoints


def _model(arch, **overrides):
  _, name, options, _ = ARCHS[arch]
  return models.make(name, num_classes=10, mean=MEAN, std=STD, **{**options, **overrides})


def test_wrong_architecture_lists_missing_and_unexpected_keys():
  with pytest.raises(convert.StateDictMismatchError) as e:
    convert.import_state_dict(_state(_twin("preact_resnet18")), _model("wide_resnet"),
                              (16, 16, 3))
  assert "block1.layer.0.conv1.weight" in e.value.missing
  assert "layer1.0.conv1.weight" in e.value.unexpected
  message = str(e.value)
  assert "WideResNet(" in message and "missing keys" in message and "unexpected keys" in message


def test_wrong_width_lists_mis_shaped_keys():
  """WRN-10-2 weights into WRN-10-1: shapes differ, and block1 loses its shortcut."""
  with pytest.raises(convert.StateDictMismatchError) as e:
    convert.import_state_dict(_state(_twin("wide_resnet")), _model("wide_resnet", width=1),
                              (16, 16, 3))
  assert ("block1.layer.0.conv1.weight", (32, 16, 3, 3), (16, 16, 3, 3)) in e.value.mis_shaped
  assert "block1.layer.0.convShortcut.weight" in e.value.unexpected
  assert "block1.layer.0.conv1.weight (32, 16, 3, 3) vs (16, 16, 3, 3)" in str(e.value)


def test_missing_key_is_named():
  state = _state(_twin("preact_resnet18"))
  del state["bn.running_var"]
  with pytest.raises(convert.StateDictMismatchError, match=r"missing keys \(1\): bn.running_var"):
    convert.import_state_dict(state, _model("preact_resnet18"), (16, 16, 3))


def test_wrong_num_classes_is_mis_shaped():
  with pytest.raises(convert.StateDictMismatchError, match=r"linear.weight \(10, 32\) vs"):
    convert.import_state_dict(_state(_twin("preact_resnet18")),
                              models.make("preact_resnet18", num_classes=100, mean=MEAN,
                                            std=STD, width=4, stem_features=4), (16, 16, 3))


def test_non_finite_weights_are_refused():
  state = _state(_twin("preact_resnet18"))
  state["linear.bias"] = state["linear.bias"].copy()
  state["linear.bias"][0] = np.nan
  with pytest.raises(convert.StateDictMismatchError, match="linear.bias.*NaN"):
    convert.import_state_dict(state, _model("preact_resnet18"), (16, 16, 3))


def test_truncated_files_are_clear_errors(tmp_path):
  st = _safetensors()
  state = _state(_twin("preact_resnet18"))
  pt, sf = str(tmp_path / "m.pt"), str(tmp_path / "m.safetensors")
  torch.save(state, pt)
  st.save_file(state, sf)
  for path in (pt, sf):
    data = open(path, "rb").read()
    with open(path, "wb") as f:
      f.write(data[:len(data) // 2])
    with pytest.raises(ValueError, match="truncated or damaged"):
      convert.read_state_dict(path)


def test_unsafe_pickles_and_odd_files_are_refused(tmp_path):
  """weights_only=True refuses pickled objects; no state_dict, no file, unknown suffix."""
  state = {k: torch.from_numpy(v) for k, v in _state(_twin("preact_resnet18")).items()}
  path = str(tmp_path / "args.pt")
  torch.save({"state_dict": state, "args": argparse.Namespace(lr=0.1)}, path)
  with pytest.raises(ValueError, match="refused: the file pickles Python objects"):
    convert.read_state_dict(path)
  torch.save({"epoch": 3}, str(tmp_path / "empty.pt"))
  with pytest.raises(ValueError, match="holds no state_dict"):
    convert.read_state_dict(str(tmp_path / "empty.pt"))
  with pytest.raises(FileNotFoundError):
    convert.read_state_dict(str(tmp_path / "absent.pt"))
  open(tmp_path / "m.npz", "wb").close()
  with pytest.raises(ValueError, match="Unknown checkpoint format '.npz'"):
    convert.read_state_dict(str(tmp_path / "m.npz"))


class _CreatesFile:
  """A pickle payload: loading it would create the file `target` (visible execution)."""

  def __init__(self, target):
    self.target = target

  def __reduce__(self):
    return open, (self.target, "w")


def test_a_code_running_pickle_is_refused_and_does_not_run(tmp_path):
  target = tmp_path / "pwned"
  path = str(tmp_path / "evil.pt")
  torch.save({"state_dict": {"w": torch.zeros(2)}, "x": _CreatesFile(str(target))}, path)
  assert not target.exists()
  with pytest.raises(ValueError, match="refused: the file pickles Python objects") as info:
    convert.read_state_dict(path)
  assert "truncated or damaged" not in str(info.value)
  assert not target.exists()


@pytest.mark.parametrize("version,refused", [("2.5.1+cpu", True), ("1.13.0", True),
                                             ("2.6.0", False), ("2.13.0+cpu", False)])
def test_torch_before_2_6_is_refused(tmp_path, monkeypatch, version, refused):
  """CVE-2025-32434: weights_only=True before torch 2.6 can be bypassed, so .pt is refused."""
  from jaxrobust.models.convert import readers
  path = str(tmp_path / "m.pt")
  torch.save({"w": torch.zeros(2)}, path)
  monkeypatch.setattr(torch, "__version__", version)
  if refused:
    with pytest.raises(ValueError, match=r"CVE-2025-32434.*\.safetensors"):
      readers.read_state_dict(path)
  else:
    assert set(readers.read_state_dict(path)) == {"w"}


def test_normalization_must_be_known_and_consistent(tmp_path):
  _, name, options, shape = ARCHS["preact_resnet18"]
  path = str(tmp_path / "plain.pt")
  torch.save(_twin("preact_resnet18").state_dict(), path)
  with pytest.raises(ValueError, match="carries no normalization buffers"):
    convert.load_torch_checkpoint(path, name, num_classes=10, input_shape=shape, **options)
  normalized = _state(TorchNormalized(_twin("preact_resnet18"), MEAN, STD))
  with pytest.raises(convert.StateDictMismatchError, match="normalization buffers"):
    convert.import_state_dict(normalized, models.make(
        name, num_classes=10, mean=(0, 0, 0), std=(1, 1, 1), **options), shape)


# ---------------------------------------------------------------- a user's architecture


class TinyNet(nn.Module):
  """A user's model: conv-BN-ReLU, global pool, dense (no registered mapping)."""

  @nn.compact
  def __call__(self, x, train: bool = False):
    x = nn.Conv(6, (3, 3), 2, padding=1)(x)
    x = nn.relu(nn.BatchNorm(use_running_average=not train, epsilon=1e-5)(x))
    return nn.Dense(10)(jnp.mean(x, axis=(1, 2)))


def tiny_mapping(model, input_shape):
  return convert.TorchMapping([
      convert.Layer("features.0", ("Conv_0",), "conv"),
      convert.Layer("features.1", ("BatchNorm_0",), "batchnorm"),
      convert.Layer("classifier", ("Dense_0",), "dense")])


def test_mapping_hook_for_a_users_architecture():
  torch.manual_seed(0)
  twin = torch.nn.Module()
  twin.features = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3, 2, 1), torch.nn.BatchNorm2d(6),
                                      torch.nn.ReLU())
  twin.classifier = torch.nn.Linear(6, 10)
  twin.forward = lambda x: twin.classifier(twin.features(x).mean((2, 3)))
  tm.randomize_batchnorm(twin)
  model = TinyNet()
  with pytest.raises(ValueError, match="No torch mapping is registered for TinyNet"):
    convert.import_state_dict(_state(twin), model, (8, 8, 3))
  variables = convert.import_state_dict(_state(twin), model, (8, 8, 3), mapping=tiny_mapping)
  x = jax.random.uniform(jax.random.key(0), (2, 8, 8, 3))
  with torch.no_grad():
    expected = twin(tm.nhwc_to_nchw(x)).numpy()
  np.testing.assert_allclose(jax.jit(model.apply)(variables, x), expected, atol=1e-5, rtol=0)
  assert np.abs(expected).max() > 0.05
  incomplete = lambda m, s: convert.TorchMapping(tiny_mapping(m, s).layers[:2])
  with pytest.raises(ValueError, match="leaves Flax variables unset.*Dense_0"):
    convert.import_state_dict(_state(twin), model, (8, 8, 3), mapping=incomplete)
  with pytest.raises(ValueError, match="Unknown layer kind 'conv2d'"):
    convert.Layer("features.0", ("Conv_0",), "conv2d")


# ---------------------------------------------------------------- experiments.evaluate


@pytest.mark.slow
def test_evaluate_flag_runs_the_evaluation_on_a_torch_checkpoint(tmp_path, capsys):
  """--torch_checkpoint: the report's clean accuracy is the torch model's own."""
  import json

  from experiments import evaluate
  from experiments.configs.evaluation import torch_checkpoint
  from jaxrobust import data

  torch.manual_seed(0)
  twin = tm.randomize_batchnorm(tm.TorchSmallCNN(1, 10, (0.13,), (0.31,), batchnorm=True))
  path = str(tmp_path / "cnn.pt")
  torch.save(twin.state_dict(), path)  # its mean/std buffers are the normalization
  config = torch_checkpoint.get_config()
  config.dataset, config.model.name, config.model.batchnorm = "mnist5k", "small_cnn", True
  config.num_examples, config.batch_size, config.progress = 64, 64, False
  config.eps, config.attacks = 0.1, "pgd5"  # the smallest run: the path is under test
  config.curve.eps, config.diagnostics.num_examples = (), 0
  report = evaluate.evaluate_torch_checkpoint(config, path, str(tmp_path / "out"))
  split = data.load("mnist5k", "test")
  with torch.no_grad():
    predicted = twin(tm.nhwc_to_nchw(data.to_float(split.images[:64]))).argmax(1).numpy()
  assert report["clean_accuracy"] == pytest.approx(np.mean(predicted == split.labels[:64]))
  assert report["robust_accuracy"]["pgd5"] <= report["clean_accuracy"]
  written = json.loads((tmp_path / "out" / "evaluation.json").read_text())["models"][0]
  assert written["torch_checkpoint"] == path and written["mean"] == pytest.approx([0.13])
  assert "pgd5" in capsys.readouterr().out


def test_normalization_option():
  from experiments.evaluate import parse_normalization
  from jaxrobust.data import tfds_source

  info = tfds_source.TFDS_DATASETS["cifar10"]
  assert parse_normalization("checkpoint", info) == (None, None)
  assert parse_normalization("none", info) == ((0.0,) * 3, (1.0,) * 3)
  assert parse_normalization("dataset", info) == (tuple(info.mean), tuple(info.std))
  assert parse_normalization("0.5,0.5,0.5/0.2,0.2,0.2", info) == ((0.5,) * 3, (0.2,) * 3)
  with pytest.raises(ValueError, match="config.normalization must be"):
    parse_normalization("imagenet", info)


def test_full_size_resnets_have_torchvision_parameter_counts():
  """torchvision's resnet18 / resnet50 / wide_resnet50_2 (1000 classes): 11,689,512 /
  25,557,032 / 68,883,240 parameters; the narrow variants above share every layer but
  their width."""
  for depth, multiplier, count in ((18, 1, 11_689_512), (50, 1, 25_557_032),
                                   (50, 2, 68_883_240)):
    model = models.make("resnet", num_classes=1000, mean=MEAN, std=STD, depth=depth,
                        width_multiplier=multiplier)
    shapes = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 224, 224, 3)))
    assert sum(np.prod(a.shape) for a in jax.tree.leaves(shapes["params"])) == count
    assert len(convert.mapping_for(model, (224, 224, 3)).layers) == {18: 41, 50: 107}[depth]
