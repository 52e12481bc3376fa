"""bench_objects: an independent judge reads a trained conditional run's bundle; per-class layout IoU on
generated and real scenes, steps and training time land in objects.json / objects.md, the run's full
evaluation beside them; reruns merge, another judge is refused, bad arguments are named."""
import json

import pytest
import torch

from freqaug import cli
from freqaug.data import CAMVID
from freqaug.metrics.segnet import SegNet, SegNetConfig, save_segnet
from tests import load_script
from tests.train.test_conditional import _tiny_config, _write_pairs


@pytest.fixture(scope="module")
def bench():
    return load_script("benchmarks/bench_objects.py")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("objects")
    data, run = _write_pairs(root / "data", n=4), root / "run"
    assert cli.main(["train", "--data", str(data), "--out", str(run), "--config", str(_tiny_config(root)),
                     "--conditional", "--quiet"]) == 0
    judges = []
    for seed, arch in ((0, "dilated"), (1, "unet")):
        torch.manual_seed(seed)
        judges.append(save_segnet(SegNet(SegNetConfig(CAMVID.num_classes, width=4, arch=arch)),
                                  root / f"judge_{arch}.safetensors"))
    return data, run, judges


def _main(bench, *args):
    threads = torch.get_num_threads()
    try:
        return bench.main(list(args))
    finally:
        torch.set_num_threads(threads)


def test_a_run_is_judged_per_class_and_recorded(bench, trained, tmp_path):
    data, run, (judge, other) = trained
    base = ["--data", str(data), "--segnet", str(judge), "--out", str(tmp_path), "--batch-size", "4"]
    report = _main(bench, *base, "--run", f"tiny={run}", "--train-seconds", "tiny=90")
    entry = report["runs"]["tiny"]
    assert entry["steps"] == {"stage1": 2, "stage2": 1} and entry["train_seconds"] == 90.0
    assert len(entry["layout"]["iou"]) == len(entry["real"]["iou"]) == CAMVID.num_classes
    assert 0 <= entry["layout"]["miou"] <= 1 and 0 <= entry["real"]["pixel_accuracy"] <= 1
    assert report["setup"]["judge"]["arch"] == "dilated"
    assert json.loads((tmp_path / "objects.json").read_text()) == report
    table = (tmp_path / "objects.md").read_text()
    assert "| tiny | 2 + 1 | 2 min |" in table and "| real val (ceiling) |" in table and "car" in table
    assert (tmp_path / "tiny_eval" / "layouts.png").read_bytes()[:4] == b"\x89PNG"

    again = _main(bench, *base, "--run", f"second={run}", "--train-seconds", "second=30")
    assert set(again["runs"]) == {"tiny", "second"}  # merged, the first kept
    with pytest.raises(SystemExit, match="recorded with another setup"):
        _main(bench, *base[:2], "--segnet", str(other), *base[4:], "--run", f"tiny={run}", "--train-seconds", "tiny=1")


def test_bad_arguments_are_named(bench, trained, tmp_path):
    data, run, (judge, _) = trained
    base = ["--data", str(data), "--segnet", str(judge), "--out", str(tmp_path)]
    with pytest.raises(SystemExit, match="--run 'tiny': expected NAME=VALUE"):
        _main(bench, *base, "--run", "tiny", "--train-seconds", "tiny=1")
    with pytest.raises(SystemExit, match=r"--train-seconds: expected one per --run \(\['tiny'\]\), got \[\]"):
        _main(bench, *base, "--run", f"tiny={run}")
    with pytest.raises(SystemExit, match="no bundle.safetensors"):
        _main(bench, *base, "--run", f"empty={tmp_path}", "--train-seconds", "empty=1")
    with pytest.raises(SystemExit, match=r"--segnet: .*missing.safetensors: no segnet file"):
        _main(bench, "--data", str(data), "--segnet", str(tmp_path / "missing.safetensors"), "--out", str(tmp_path),
              "--run", f"tiny={run}", "--train-seconds", "tiny=1")
    assert not (tmp_path / "objects.json").exists()
