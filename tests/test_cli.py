"""The demo job end to end, on a small folder of drawn scenes and on the embedded fallback."""
import json
from pathlib import Path

import cv2
import PIL.Image
import pytest

from freqaug import cli, demo, load_bundle
from freqaug.data import street_scene


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
    monkeypatch.setattr(demo, "default_data_dir", lambda: None)
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
    with PIL.Image.open(training["augment_grid"]) as grid:  # an augmented batch: original + 3 modes, 4 scenes
        assert grid.format == "PNG" and grid.width > grid.height
    assert json.loads((tmp_path / "out" / "reconstruction.json").read_text())["training"]["steps"]["stage2"] == 1
