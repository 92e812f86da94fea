"""`python -m experiments.measures` end to end, as subprocesses."""

import json
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
TINY = "experiments/configs/measures.py:tiny"


def _run(workdir, *flags):
  return subprocess.run([sys.executable, "-m", "experiments.measures", f"--config={TINY}",
                         f"--workdir={workdir}", *flags], cwd=REPO, capture_output=True,
                        text=True, timeout=1200)


@pytest.mark.parametrize("field,value,message", [
    ("options", {"input_margin": {"steps": 0}}, "steps must be an integer >= 1"),
    ("names", ["norm", "flatnes"], "Unknown measure 'flatnes'"),
    ("chunk", 0, "config.measures.chunk must be an integer >= 1"),
    ("num_examples", -1, "config.measures.num_examples must be an integer >= 1"),
])
def test_bad_measure_settings_fail_before_training(tmp_path, field, value, message):
  from experiments import measures as binary
  from experiments.configs import measures as configs
  config = configs.get_config("tiny")
  config.measures[field] = value
  with pytest.raises(ValueError, match=message):
    binary.run(config, str(tmp_path))
  assert not (tmp_path / "population").exists()  # nothing trained


def test_sequential_axes_split_the_grid_into_populations():
  from experiments import measures as binary
  hparams = {"seed": [0, 0, 1, 1], "eps": [0.0, 0.1, 0.0, 0.1]}
  assert binary.split(hparams, []) == [("population", [0, 1, 2, 3])]
  assert binary.split(hparams, ["seed"]) == [("population_0", [0, 1]), ("population_1", [2, 3])]
  assert binary.split(hparams, ["eps"]) == [("population_0", [0, 2]), ("population_1", [1, 3])]


@pytest.mark.parametrize("variant", ["mnist5k", "tiny", "cifar10"])
def test_config_variants_build_without_data(variant):
  """Every variant's grid, model, defense, optimizers and measures build (the CIFAR-10
  one too, which trains only where its data and an accelerator are)."""
  import jax
  import jax.numpy as jnp

  from experiments.configs import measures as configs
  from jaxrobust import defenses, measures, train
  from jaxrobust.data import embedded, tfds_source
  from jaxrobust.train import population

  config = configs.get_config(variant)
  info = {**embedded.INFOS, **tfds_source.TFDS_DATASETS}[config.train.dataset]
  model = train.build_model(config.train, info)
  shapes = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1,) + info.input_shape))
  assert "params" in shapes
  members = population.member_configs(config.train, population.grid(**config.grid.to_dict()))
  assert len(members) >= (64 if variant != "tiny" else 4)
  for member in members[:2]:
    defenses.DEFENSES.from_config(member.defense.to_dict())
    train.make_optimizer(member.optimizer, total_steps=100)
  measures.MEASURES.make_all(list(config.measures.names), config.measures.options.to_dict())
  assert set(config.granulated_axes) <= set(config.grid)


@pytest.mark.slow
def test_a_bad_option_ends_the_binary_in_one_line(tmp_path):
  done = _run(tmp_path, "--config.measures.options.input_margin.steps=0")
  assert done.returncode == 2
  assert done.stderr.strip().splitlines()[-1].startswith(
      "experiments.measures: error: steps must be"), done.stderr
  assert "Traceback" not in done.stderr
  assert not (tmp_path / "population").exists()  # nothing trained


@pytest.mark.slow
def test_tiny_grid_writes_tables_and_plots(tmp_path):
  done = _run(tmp_path)
  assert done.returncode == 0, done.stderr[-3000:]
  report = json.loads((tmp_path / "measures.json").read_text())
  assert len(report["members"]) == 4 and report["timings"]["total_s"] > 0
  member = report["members"][0]
  assert member["robust_gap"] == pytest.approx(
      member["robust_train_accuracy"] - member["robust_test_accuracy"])
  for name in ("l2_dist", "margin_clean", "local_lipschitz", "pacbayes_sigma",
               "hessian_top_adv", "boundary_thickness", "input_margin"):
    assert name in member, name
  rows = json.loads((tmp_path / "correlations.json").read_text())
  taus = [abs(r["tau"]) for r in rows if r["tau"] is not None]
  assert taus == sorted(taus, reverse=True) and all(t <= 1 for t in taus)
  table = (tmp_path / "correlations.md").read_text()
  assert "Sorted by |Kendall tau|" in table and "Sorted by |granulated Kendall|" in table
  pngs = list(tmp_path.glob("scatter_*.png"))
  assert len(pngs) == 2 and all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)
