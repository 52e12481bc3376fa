"""Each augmentation example runs a few steps with a tiny bundle (drawn scenes, and CamVid when present) and writes its grid."""
import PIL.Image
import pytest

from tests import load_script

FEW_STEPS = {  # the example's flags for a quick run
    "albumentations_pipeline": [],
    "torchvision_pipeline": [],
    "gpu_batch": ["--steps", "1", "--batch", "2", "--device", "cpu"],
}


def load(name):
    return load_script(f"examples/{name}.py", f"example_{name}")


@pytest.mark.parametrize("name", sorted(FEW_STEPS))
def test_the_example_writes_a_grid_of_drawn_scenes(name, bundle_path, tmp_path, capsys):
    out = load(name).main([str(bundle_path), "--drawn", "--n", "2", *FEW_STEPS[name], "--out", str(tmp_path / "g.png")])
    with PIL.Image.open(out) as grid:
        width, height = grid.size
    assert grid.format == "PNG" and width > 2 * height > 0  # 4-5 columns of 4:3 tiles, 2 rows
    assert "drawn street scenes" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(FEW_STEPS))
def test_the_example_reads_camvid_when_present(name, bundle_path, tmp_path, capsys):
    camvid = load("_common").DEFAULT_DATA
    if not camvid.is_dir():
        pytest.skip("no CamVid 128x96 train folder")
    out = load(name).main([str(bundle_path), "--n", "1", *FEW_STEPS[name], "--out", str(tmp_path / "g.png")])
    assert out.is_file() and str(camvid) in capsys.readouterr().out


def test_the_examples_document_their_command():
    for name in FEW_STEPS:
        assert f"examples/{name}.py BUNDLE" in load(name).__doc__
