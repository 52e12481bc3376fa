"""The demo job end to end, on a small folder of drawn scenes and on the embedded fallback; where its
scenes come from; the CLI's --version and --device checks; what the package ships beside its code."""
import json
import tomllib
from pathlib import Path

import cv2
import PIL.Image
import pytest

import freqaug
from freqaug import cli, demo, load_bundle
from freqaug.data import street_scene

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def scene_folder(tmp_path):
    images = tmp_path / "scenes" / "images"
    images.mkdir(parents=True)
    for i in range(3):
        rgb, _ = street_scene(i, size=(96, 128))
        cv2.imwrite(str(images / f"scene_{i}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return images.parent


def _check_outputs(out, n, size):
    names = {p.name for p in out.iterdir()}
    assert {"bands_dwt.png", "bands_dct.png", "bands_fourier.png", "spectrum.png", "reconstruction.json"} <= names
    assert not [p for p in names if p.endswith(".tmp")]
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    report = json.loads((out / "reconstruction.json").read_text())
    assert report["images"] == [n, 3, *size]
    for entry in report["specs"].values():
        assert entry["max_rel_error"]["float32"] <= 1e-5
        assert entry["max_rel_error"]["float64"] <= 1e-10
        assert abs(sum(entry["energy_fraction"].values()) - 1) < 0.05
    return report


def test_demo_on_a_folder(scene_folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["demo", "--out", str(out), "--data", str(scene_folder), "--n", "2", "--train-steps", "0", "0"]) == 0
    report = _check_outputs(out, 2, (96, 128))
    assert str(scene_folder) in report["source"]
    assert "float32" in capsys.readouterr().out


def test_demo_falls_back_to_drawn_scenes(tmp_path, monkeypatch):
    monkeypatch.delenv(demo.DATA_ENV, raising=False)
    report = demo.run_demo(tmp_path / "out", n=2)
    _check_outputs(tmp_path / "out", 2, (192, 256))
    assert report["source"].startswith("synthetic")


def test_demo_reports_a_missing_folder(tmp_path, capsys):
    code = cli.main(["demo", "--out", str(tmp_path / "out"), "--data", str(tmp_path / "nowhere"), "--train-steps", "0", "0"])
    assert code == 1
    assert "nowhere" in capsys.readouterr().err


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["demo", "--n", "many"])
    assert exc.value.code == 2


def test_demo_trains_briefly_and_writes_samples(scene_folder, tmp_path, monkeypatch):
    from freqaug.bands import BandSpec
    from freqaug.models import FreqGANConfig, NetConfig
    from freqaug.train import TrainConfig
    from freqaug.train.run import RunConfig

    small = NetConfig(base_channels=8, max_channels=16, min_size=4)
    tiny = RunConfig(model=FreqGANConfig(spec=BandSpec(levels=2), image_size=(32, 48), z_dim=64, generator=small,
                                         discriminator=small), train=TrainConfig(batch_size=4))
    for _ in range(2):  # a second demo replaces its own earlier run folder
        report = demo.run_demo(tmp_path / "out", data=scene_folder, n=2, train_steps=(2, 1), train_config=tiny)
    training = report["training"]
    assert training["steps"] == {"stage1": 2, "stage2": 1}
    assert str(scene_folder) in training["source"]
    assert (tmp_path / "out" / "train" / "samples" / "latest.png").read_bytes()[:4] == b"\x89PNG"
    bundle = load_bundle(training["bundle"])  # the demo ends by exporting a bundle and drawing from it
    assert bundle.image_size == (32, 48) and bundle.manifest["provenance"]["data"] is not None
    assert Path(training["bundle_samples"]).read_bytes()[:4] == b"\x89PNG"
    with PIL.Image.open(training["augment_grid"]) as grid:  # an augmented batch: original + every mode, 4 scenes
        assert grid.format == "PNG" and grid.width > grid.height
    assert json.loads((tmp_path / "out" / "reconstruction.json").read_text())["training"]["steps"]["stage2"] == 1


# ---- where the demo's scenes come from: --data, else $FREQAUG_DEMO_DATA, else drawn ones ----------------

def test_demo_data_is_the_argument_then_the_environment_then_drawn(scene_folder, tmp_path, monkeypatch):
    assert demo.DATA_ENV == "FREQAUG_DEMO_DATA"
    monkeypatch.delenv(demo.DATA_ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # nothing beside the working directory or the checkout is looked at
    assert demo.resolve_data(None) is None and demo.default_data_dir() is None
    assert demo.resolve_data(scene_folder) == scene_folder
    monkeypatch.setenv(demo.DATA_ENV, "")
    assert demo.resolve_data(None) is None
    monkeypatch.setenv(demo.DATA_ENV, str(scene_folder))
    assert demo.resolve_data(None) == scene_folder
    other = tmp_path / "other"
    (other / "images").mkdir(parents=True)
    assert demo.resolve_data(other) == other  # --data wins over the variable


def test_a_wrong_demo_data_variable_is_an_error_naming_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(demo.DATA_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match=r"FREQAUG_DEMO_DATA=.*nowhere: expected a folder with images/"):
        demo.resolve_data(None)
    out = tmp_path / "out"
    assert cli.main(["demo", "--out", str(out), "--train-steps", "0", "0"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("freqaug demo: error: $FREQAUG_DEMO_DATA=") and "\n" not in err
    assert not out.exists()  # refused before anything was written


def test_demo_help_names_the_lookup(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["demo", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert exc.value.code == 0 and "$FREQAUG_DEMO_DATA" in text and "drawn street scenes" in text
    assert "FREQAUG_DEMO_DATA" in demo.__doc__ and "--data" in demo.__doc__


def test_no_library_default_points_outside_the_package():
    offenders = [f"{path.relative_to(ROOT)}:{i}" for path in sorted((ROOT / "freqaug").rglob("*.py"))
                 for i, line in enumerate(path.read_text().splitlines(), 1) if "shared/data" in line
                 or '"shared"' in line or "/work/" in line]
    assert offenders == []


# ---- --version and --device ------------------------------------------------------------------------

def test_version_flag_prints_the_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"freqaug {freqaug.__version__}\n"
    from freqaug._version import __version__

    assert freqaug.__version__ == __version__ and __version__.count(".") == 2


def test_the_bundle_layer_reads_the_version_without_the_package_face():
    for path in sorted((ROOT / "freqaug" / "bundle").rglob("*.py")):
        assert "from freqaug import" not in path.read_text(), path.name


DEVICE_COMMANDS = {
    "generate": ["generate", "b.safetensors", "--n", "2", "--out", "g"],
    "expand": ["expand", "--data", "d", "--bundle", "b.safetensors", "--ratio", "1", "--out", "e"],
    "train": ["train", "--data", "d", "--out", "r"],
    "eval": ["eval", "b.safetensors", "--data", "d"],
    "train-segnet": ["train-segnet", "--data", "d", "--out", "s.safetensors"],
}


@pytest.mark.parametrize("command", sorted(DEVICE_COMMANDS))
def test_a_bad_device_is_a_usage_error(command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([*DEVICE_COMMANDS[command], "--device", "potato"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == (f"freqaug {command}: error: argument --device: "
                                            "'potato': expected cpu, cuda or cuda:N")


@pytest.mark.parametrize("device", ["cpu", "cuda", "cuda:0", "cuda:3"])
def test_good_devices_parse(device):
    for argv in DEVICE_COMMANDS.values():
        assert cli.build_parser().parse_args([*argv, "--device", device]).device == device
    assert cli.build_parser().parse_args(DEVICE_COMMANDS["generate"]).device == "cpu"


@pytest.mark.parametrize("device", ["cuda:", "cuda:x", "CPU", "gpu", "cuda:0 ", ""])
def test_near_miss_devices_are_refused(device, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([*DEVICE_COMMANDS["generate"], "--device", device])
    assert exc.value.code == 2 and "expected cpu, cuda or cuda:N" in capsys.readouterr().err


def test_a_missing_cuda_device_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    data = tmp_path / "never_read"  # does not exist: the device is refused before the data is looked at
    for command, argv in DEVICE_COMMANDS.items():
        argv = [a if a != "d" else str(data) for a in argv]
        assert cli.main([*argv, "--device", "cuda:1"]) == 1, command
        assert capsys.readouterr().err.strip() == (f"freqaug {command}: error: --device cuda:1: no CUDA device is "
                                                   "available here; use --device cpu")


@pytest.mark.parametrize("command", ["demo", "train", "generate", "expand", "eval"])
def test_an_out_folder_that_is_a_file_is_refused_before_any_work(command, tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    argv = {"demo": ["demo"], **DEVICE_COMMANDS}[command]
    argv = [a if a not in ("g", "e", "r") else str(afile) for a in argv]
    if command in ("demo", "eval"):
        argv = [*argv, "--out", str(afile)]
    assert cli.main(argv) == 1
    assert capsys.readouterr().err.strip() == (f"freqaug {command}: error: --out {afile}: is a file; expected a "
                                               "folder (new, empty, or one this command wrote before)")
    assert afile.read_text() == "keep me"


def test_inspect_names_a_path_that_is_not_a_regular_file(capsys):
    assert cli.main(["inspect", "/dev/null"]) == 1
    assert "/dev/null: bundle file is not a regular file" in capsys.readouterr().err


@pytest.mark.parametrize("command", sorted(DEVICE_COMMANDS) + ["demo"])
def test_every_long_command_takes_quiet_and_threads(command):
    argv = {"demo": ["demo"], **DEVICE_COMMANDS}[command]
    args = cli.build_parser().parse_args([*argv, "--quiet", "--threads", "3"])
    assert args.quiet is True and args.threads == 3
    assert cli.build_parser().parse_args(argv).threads is None  # None: the cores this process may use
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args([*argv, "--threads", "0"])
    assert cli.build_parser().parse_args(["inspect", "b.safetensors", "--quiet"]).quiet is True


def test_threads_apply_during_the_command_and_are_restored(tmp_path, monkeypatch):
    import torch

    from freqaug import runtime

    seen = {}
    monkeypatch.setattr(cli, "_demo", lambda args: seen.setdefault("threads", torch.get_num_threads()) and 0)
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    before = torch.get_num_threads()
    assert cli.main(["demo", "--out", str(tmp_path / "d"), "--threads", "1"]) == 0
    assert seen.pop("threads") == 1 and torch.get_num_threads() == before
    assert cli.main(["demo", "--out", str(tmp_path / "d")]) == 0
    assert seen.pop("threads") == 3 and torch.get_num_threads() == before  # default: the usable cores


def test_quiet_silences_every_progress_bar(monkeypatch):
    from freqaug import _progress

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert not _progress.progress_bar(range(3)).disable
    _progress.set_quiet()
    try:
        assert _progress.progress_bar(range(3)).disable
    finally:
        _progress.set_quiet(False)
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert _progress.progress_bar(range(3)).disable


# ---- what ships beside the code ---------------------------------------------------------------------

def test_license_and_typing_marker_ship():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["license"] == {"text": "MIT"}
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License") and "Copyright (c) 2026 the freqaug authors" in license_text
    assert (ROOT / "freqaug" / "py.typed").read_bytes() == b""
    assert "py.typed" in meta["tool"]["setuptools"]["package-data"]["freqaug"]
    assert "version" in meta["project"]["dynamic"] and "version" not in meta["project"]
    assert meta["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "freqaug._version.__version__"}
