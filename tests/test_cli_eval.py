"""`freqaug eval` and `freqaug train-segnet`: exit codes, printed summaries, default output folder,
one-line errors that name the file."""
import json
import shutil

import pytest

from freqaug import cli
from freqaug.data import CAMVID
from freqaug.evaluate import EVAL_FILES, LAYOUT_FILE
from freqaug.metrics import load_segnet
from freqaug.metrics.inception import ENV_VAR, WEIGHTS_FILE
from tests.test_evaluate import (  # noqa: F401 - fixtures
    N, bundle_path, cond_bundle, data_dir, one_thread_no_inception_weights, segnet_file,
)
from tests.test_cli_bundle import write_scenes


def test_eval_writes_beside_the_bundle_by_default(bundle_path, data_dir, tmp_path, capsys):  # noqa: F811
    bundle = shutil.copy(bundle_path, tmp_path / "camvid.safetensors")
    assert cli.main(["eval", str(bundle), "--data", str(data_dir), "--n", "6", "--seed", "3", "--batch-size", "4"]) == 0
    out = tmp_path / "camvid_eval"
    assert sorted(p.name for p in out.iterdir()) == sorted(EVAL_FILES)
    report = json.loads((out / "eval.json").read_text())
    assert report["generated"] == {"images": 6, "seed": 3} and report["data"]["images"] == N
    printed = capsys.readouterr().out
    assert "SWD x1e3 mean" in printed and "segnet: skipped" in printed and "inception: skipped" in printed
    assert f"to {out}/" in printed


def test_eval_prints_the_reference_scores(bundle_path, data_dir, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "out"
    assert cli.main(["eval", str(bundle_path), "--data", str(data_dir), "--out", str(out), "--n", "6",
                     "--reference", str(data_dir)]) == 0
    reference = json.loads((out / "eval.json").read_text())["reference"]
    printed = capsys.readouterr().out
    assert reference["images"] == 6
    assert (f"reference (6 real images of {data_dir}): SWD x1e3 mean {reference['metrics']['swd']['mean']:.1f}"
            in printed)


def test_eval_errors_are_one_line_naming_the_file(bundle_path, data_dir, tmp_path, capsys, monkeypatch):  # noqa: F811
    out = tmp_path / "out"
    missing = tmp_path / "weights" / WEIGHTS_FILE
    assert cli.main(["eval", str(bundle_path), "--data", str(data_dir), "--out", str(out), "--inception", str(missing)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("freqaug eval: error:") and "\n" not in err and str(missing) in err and ENV_VAR in err
    monkeypatch.setenv(ENV_VAR, str(missing))
    assert cli.main(["eval", str(bundle_path), "--data", str(data_dir), "--out", str(out)]) == 1
    assert f"${ENV_VAR}" in capsys.readouterr().err
    monkeypatch.delenv(ENV_VAR)
    assert cli.main(["eval", str(bundle_path), "--data", str(tmp_path / "nothing"), "--out", str(out)]) == 1
    assert str(tmp_path / "nothing") in capsys.readouterr().err
    assert cli.main(["eval", str(tmp_path / "no.safetensors"), "--data", str(data_dir), "--out", str(out)]) == 1
    assert "no.safetensors" in capsys.readouterr().err
    assert not out.exists()


def test_eval_of_a_conditional_bundle_prints_layout_fidelity(cond_bundle, bundle_path, data_dir, segnet_file,  # noqa: F811
                                                             tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["eval", str(cond_bundle), "--data", str(data_dir), "--out", str(out), "--segnet", str(segnet_file),
                     "--floor", str(bundle_path), "--batch-size", "8"]) == 0
    layout = json.loads((out / "eval.json").read_text())["metrics"]["layout"]
    printed = capsys.readouterr().out
    for metric in ("miou", "pixel_accuracy"):
        values = ", ".join(f"{k} {layout[k][metric]:.3f}" for k in ("generated", "real", "floor"))
        assert f"layout {metric}: {values}" in printed
    assert LAYOUT_FILE in printed and (out / LAYOUT_FILE).is_file()


def test_eval_of_a_conditional_bundle_needs_labels(cond_bundle, tmp_path, capsys):  # noqa: F811
    folder = write_scenes(tmp_path / "unlabelled", 2, (16, 24), labels=False)
    assert cli.main(["eval", str(cond_bundle), "--data", str(folder), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(folder) in err and "needs layouts" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("arch", ["unet", "dilated"])
def test_train_segnet_writes_a_loadable_segnet(data_dir, tmp_path, capsys, arch):  # noqa: F811
    path = tmp_path / "seg" / "segnet.safetensors"
    assert cli.main(["train-segnet", "--data", str(data_dir), "--out", str(path), "--steps", "2", "--batch-size", "4",
                     "--width", "6", "--arch", arch]) == 0
    printed = capsys.readouterr().out
    assert "2 steps on 12 images" in printed and "mIoU" in printed and str(path) in printed
    assert f"{arch} segnet (width 6)" in printed
    config = load_segnet(path).config
    assert config.num_classes == CAMVID.num_classes and config.width == 6 and config.arch == arch


def test_train_segnet_needs_labels(tmp_path, capsys):
    folder = write_scenes(tmp_path / "unlabelled", 2, (16, 24), labels=False)
    assert cli.main(["train-segnet", "--data", str(folder), "--out", str(tmp_path / "s.safetensors")]) == 1
    err = capsys.readouterr().err
    assert "labels" in err and str(folder) in err
    assert not (tmp_path / "s.safetensors").exists()


@pytest.mark.parametrize("command", ["eval", "train-segnet"])
def test_help_and_usage_errors(command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([command, "--help"])
    assert exc.value.code == 0 and "usage: freqaug " + command in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        cli.main([command, "--steps" if command == "eval" else "--n", "1"])
    assert exc.value.code == 2
