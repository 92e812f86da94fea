"""`experiments.evaluate --zoo=NAME --checkpoint=PATH` end to end, on a RobustBench-style
checkpoint of random weights (RobustBench's own Ding2020MMANet class) and a tiny CIFAR-10
prepared offline: the run reads the entry, evaluates it and prints the leaderboard beside."""

from tests.peers import require_peers
from tests.peers import robustbench_classes as rb

require_peers()
rb.require_robustbench()

import json  # noqa: E402
import os  # noqa: E402
import pathlib  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import torch  # noqa: E402

from tests.data import tiny_tfds  # noqa: E402
from tests.models.test_robustbench_parity import randomized  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_zoo_flag_evaluates_a_converted_checkpoint(tmp_path):
  data_dir = tmp_path / "tfds"
  tiny_tfds.prepare(data_dir, tiny_tfds.CIFAR10, sizes={"test": 6})
  checkpoint = tmp_path / "Ding2020MMA.pt"
  twin = randomized(rb.zoo_module("cifar10").Ding2020MMANet())
  torch.save({"state_dict": {f"module.{k}": v for k, v in twin.state_dict().items()}},
             checkpoint)
  out = tmp_path / "out"
  result = subprocess.run(
      [sys.executable, "-m", "experiments.evaluate", "--zoo=Ding2020MMA",
       "--config=experiments/configs/evaluation/zoo.py", f"--checkpoint={checkpoint}",
       "--config.norm=linf",
       f"--config.data_dir={data_dir}", "--config.attacks=fgsm", "--config.curve.eps=()",
       "--config.diagnostics.num_examples=0", "--config.progress=False",
       f"--output_dir={out}"],
      cwd=REPO, capture_output=True, text=True, timeout=600,
      env=dict(os.environ, PYTHONPATH=str(REPO)))
  assert result.returncode == 0, result.stderr[-2000:]
  assert ("cifar10/linf/Ding2020MMA: ours clean" in result.stdout
          and "leaderboard clean 84.36%, AutoAttack 41.44%" in result.stdout), result.stdout
  (report,) = json.loads((out / "evaluation.json").read_text())["models"]
  assert report["zoo"] == "cifar10/linf/Ding2020MMA" and report["num_examples"] == 6
  assert report["model"] == {"name": "wide_resnet", "depth": 28, "width": 4,
                             "per_image_standardization": True}
  assert report["leaderboard"]["comparable"] and abs(report["eps"] - 8 / 255) < 1e-9
  assert 0.0 <= report["robust_accuracy"]["fgsm"] <= report["clean_accuracy"]
