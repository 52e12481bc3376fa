"""The augmentation example runs with a tiny bundle (drawn scenes, and CamVid when present) and writes its grid."""
import importlib.util
from pathlib import Path

import PIL.Image
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "augment_pipeline.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("augment_pipeline", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_writes_a_grid_of_drawn_scenes(example, bundle_path, tmp_path):
    out = example.main([str(bundle_path), "--drawn", "--n", "2", "--out", str(tmp_path / "grid.png")])
    with PIL.Image.open(out) as grid:
        assert grid.size == (4 * 130 + 2, 2 * 98 + 2)  # 4 columns of 128x96 tiles, 2 rows, 2-pixel padding


def test_the_example_reads_camvid_when_present(example, bundle_path, tmp_path):
    if example.DEFAULT_DATA is None or not example.DEFAULT_DATA.is_dir():
        pytest.skip("no CamVid 128x96 train folder")
    out = example.main([str(bundle_path), "--n", "1", "--out", str(tmp_path / "grid.png")])
    assert out.is_file()
