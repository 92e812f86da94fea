"""Every binary ends a user's error in one line on stderr with exit status 2 (issue 34):
an unknown config field, a bad config value, a --config file that does not load, a
workdir that cannot be made, missing data. Each error comes before any data is read
or anything compiles.

The binaries run in this process (their flags defined and parsed by
`pipeline.parse_flags`, then their `main`, as `pipeline.start` does under absl's
app.run): a subprocess each would spend seconds importing JAX. A real subprocess
checks the whole path once."""

import importlib
import os
import pathlib
import subprocess
import sys

import pytest
from absl import flags

from experiments import pipeline
from jaxrobust import train

REPO = pathlib.Path(__file__).resolve().parents[2]
# Every module of experiments/ that runs as __main__ is a binary.
BINARIES = tuple(sorted(p.stem for p in (REPO / "experiments").glob("*.py")
                        if "\nif __name__ == \"__main__\":" in p.read_text()))
# One bad value per binary: the override, and the config field its one line must name.
BAD_VALUE = {
    "anomaly": ("--config.epochs=0", "config.epochs"),
    "audio_detection": ("--config.budget=-0.01", "config.budget"),
    "audio_transfer": ("--config.epochs=0", "config.epochs"),
    "certified": ("--config.eval.num_examples=0", "config.eval.num_examples"),
    "defenses_compare": ("--config.epochs=0", "config.epochs"),
    "domain_adaptation": ("--config.seeds=0", "config.seeds"),
    "domain_fusion": ("--config.gan.epochs=0", "config.gan.epochs"),
    "dp_train": ("--config.target_epsilon=-1", "config.target_epsilon"),
    "evaluate": ("--config.batch_size=0", "config.batch_size"),
    "forecast": ("--config.epochs=-1", "config.epochs"),
    "graddiv": ("--config.eval.repeats=0", "config.eval.repeats"),
    "imputation": ("--config.test_fraction=1.5", "config.test_fraction"),
    "linear_theory": ("--config.synthetic.n=1", "config.synthetic.n"),
    "measures": ("--config.measures.num_examples=0", "config.measures.num_examples"),
    "mpssl": ("--config.batch_size=0", "config.batch_size"),
    "sam_stability": ("--config.seeds=-1", "config.seeds"),
    "train": ("--config.optimizer.learning_rate=-0.1", "config.optimizer.learning_rate"),
}
# Binaries whose --workdir is read, not written.
READS_WORKDIR = ("evaluate",)


def run_binary(name: str, *args: str, workdir: str | None = None,
               capsys=None) -> tuple[int, list[str]]:
  """(exit status, stderr lines) of `python -m experiments.<name> *args`, in process."""
  module = importlib.import_module(f"experiments.{name}")
  argv = [str(REPO / "experiments" / f"{name}.py"), *args]
  if workdir is not None:
    argv.append(f"--workdir={workdir}")
  before, saved_argv = set(flags.FLAGS), sys.argv
  sys.argv = argv  # ml_collections reads the overrides from sys.argv
  capsys.readouterr()
  try:
    with pytest.raises(SystemExit) as exit_info:
      module.main(pipeline.parse_flags(module.define_flags, argv))
  finally:
    sys.argv = saved_argv
    for flag in set(flags.FLAGS) - before:  # the next binary defines its own
      delattr(flags.FLAGS, flag)
    flags.FLAGS.unparse_flags()
  return exit_info.value.code, capsys.readouterr().err.splitlines()


def _one_line(status, lines, *words):
  assert status == 2, (status, lines)
  assert len(lines) == 1, lines
  for word in words:
    assert word in lines[0], (word, lines[0])
  return lines[0]


def test_every_binary_has_a_bad_value_case():
  assert set(BAD_VALUE) == set(BINARIES), "add the new binary's bad value to BAD_VALUE"


@pytest.mark.parametrize("name", BINARIES)
def test_unknown_field_bad_value_and_config_file(name, tmp_path, capsys):
  workdir = str(tmp_path / ("missing" if name in READS_WORKDIR else "run"))
  line = _one_line(*run_binary(name, "--config.epochz=3", workdir=workdir, capsys=capsys),
                   "config.epochz", "unknown config field")
  assert line.startswith(f"experiments.{name}: error: "), line
  _one_line(*run_binary(name, "--config.optimizr.name=adam", workdir=workdir, capsys=capsys),
            "config.optimizr.name")
  override, field = BAD_VALUE[name]
  line = _one_line(*run_binary(name, override, workdir=workdir, capsys=capsys), field)
  assert override.split("=")[1] in line, line  # the bad value is quoted
  _one_line(*run_binary(name, f"--config={tmp_path / 'nope.py'}", workdir=workdir,
                        capsys=capsys), "--config=", "nope.py", "No such file")
  _one_line(*run_binary(name, "--no_such_flag=1", workdir=workdir, capsys=capsys),
            "no_such_flag")
  _one_line(*run_binary(name, "stray", workdir=workdir, capsys=capsys), "stray")
  assert not os.path.exists(workdir)  # nothing was written


@pytest.mark.parametrize("name", [n for n in BINARIES if n not in READS_WORKDIR])
def test_a_workdir_that_cannot_be_made(name, tmp_path, capsys):
  blocker = tmp_path / "file"
  blocker.write_text("")
  _one_line(*run_binary(name, workdir=str(blocker / "run"), capsys=capsys),
            "--workdir=", "is a file")
  _one_line(*run_binary(name, workdir=str(blocker), capsys=capsys), "--workdir=",
            "not a directory")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_workdir(tmp_path, capsys):
  locked = tmp_path / "locked"
  locked.mkdir(mode=0o500)
  _one_line(*run_binary("sam_stability", workdir=str(locked / "run"), capsys=capsys),
            "not writable")


def test_missing_data_and_missing_input(tmp_path, capsys):
  _one_line(*run_binary("evaluate", workdir=str(tmp_path / "missing"), capsys=capsys),
            "--workdir=", "no such directory")
  _one_line(*run_binary("evaluate", f"--torch_checkpoint={tmp_path / 'm.pt'}", capsys=capsys),
            "checkpoint=", "m.pt", "no such file")
  _one_line(*run_binary("evaluate", capsys=capsys), "workdir", "torch_checkpoint")
  _one_line(*run_binary("audio_transfer", f"--fsdd_dir={tmp_path / 'fsdd'}",
                        workdir=str(tmp_path / "run"), capsys=capsys), "fsdd")


def test_a_config_mode_that_does_not_exist(tmp_path, capsys):
  config = REPO / "experiments" / "configs" / "sam_stability.py"
  _one_line(*run_binary("sam_stability", f"--config={config}:huge",
                        workdir=str(tmp_path), capsys=capsys), "Unknown config mode 'huge'")


def test_a_real_process_prints_one_line_and_exits_2(tmp_path):
  # The whole path once (absl's app.run, JAX's start-up): nothing else on stderr.
  result = subprocess.run([sys.executable, "-m", "experiments.sam_stability",
                           "--config.epochz=3", f"--workdir={tmp_path / 'run'}"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
  assert result.returncode == 2, result.stderr[-2000:]
  assert result.stderr.splitlines() == [
      "experiments.sam_stability: error: unknown config field config.epochz "
      "(--config.epochz): the config has no field 'epochz'."], result.stderr[-2000:]
  assert not (tmp_path / "run").exists()


def test_only_user_errors_become_one_line(capsys):
  with pytest.raises(KeyError, match="a bug"):  # a bug keeps its traceback
    with pipeline.one_line_errors("experiments.x"):
      raise KeyError("a bug")
  with pytest.raises(SystemExit) as exit_info:  # a run that failed: status 1
    with pipeline.one_line_errors("experiments.x"):
      raise train.TrainingDivergedError("loss not finite\nat step 3")
  assert exit_info.value.code == 1
  assert capsys.readouterr().err.splitlines() == [
      "experiments.x: error: loss not finite at step 3"]
