"""The corruption suite: deterministic by seed, every corruption changes the image, severities grow, cache round trip."""
import numpy as np
import pytest
import torch

from freqaug.data import synthetic_batch
from tests import load_script

corruptions = load_script("benchmarks/corruptions.py", "corruptions")


@pytest.fixture(scope="module")
def images():
    return corruptions.to_uint8(synthetic_batch(3, size=(64, 96), seed=0)[0])


def test_the_table_has_15_corruptions_in_four_families_at_three_severities():
    assert {f: len(n) for f, n in corruptions.FAMILIES.items()} == {"noise": 3, "blur": 4, "weather": 4, "digital": 4}
    assert all(len(c.params) == 3 for c in corruptions.TABLE)
    table = corruptions.markdown_table()
    assert table.count("\n") == 16 and "`A.GaussNoise`" in table and "quality_range=(7, 7)" in table


@pytest.mark.parametrize("name", [c.name for c in corruptions.TABLE])
def test_each_corruption_changes_the_image_deterministically_and_more_with_severity(images, name):
    out = {s: corruptions.corrupt(images, name, s, seed=0) for s in (1, 3)}
    assert out[1].shape == images.shape and out[1].dtype == np.uint8
    assert np.array_equal(out[1], corruptions.corrupt(images, name, 1, seed=0))
    change = {s: np.abs(out[s].astype(float) - images).mean() for s in out}
    assert change[1] > 0.2 and change[3] > change[1]


def test_bad_names_severities_and_images_are_named(images):
    with pytest.raises(ValueError, match="corruption: expected one of gaussian_noise"):
        corruptions.corrupt(images, "hail", 1)
    with pytest.raises(ValueError, match=r"severity: expected one of \(1, 2, 3\)"):
        corruptions.corrupt(images, "fog", 4)
    with pytest.raises(ValueError, match="images: expected uint8"):
        corruptions.corrupt(images.astype(np.float32), "fog", 1)


def test_the_suite_is_cached_and_read_back_identically(images, tmp_path):
    built = corruptions.load_suite(images, tmp_path, seed=3)
    assert len(built) == 45 and len(list(tmp_path.glob("suite-*.safetensors"))) == 1
    again = corruptions.load_suite(images, tmp_path, seed=3)
    assert all(np.array_equal(built[k], again[k]) for k in built)
    other = corruptions.load_suite(images, tmp_path, seed=4)  # another seed: another file, other noise
    assert len(list(tmp_path.glob("suite-*.safetensors"))) == 2
    assert not np.array_equal(built["gaussian_noise", 2], other["gaussian_noise", 2])


def test_robustness_scores_average_over_corruptions_and_severities(images):
    suite = {(c.name, s): images for c in corruptions.TABLE for s in (1, 2, 3)}
    by_severity = {1: 0.1, 2: 0.2, 3: 0.6}
    marks = iter([by_severity[s] for _, s in suite])
    scores = corruptions.robustness_scores(lambda _: next(marks), suite, clean=0.6)
    assert scores["mpc"] == pytest.approx(0.3) and scores["rpc"] == pytest.approx(0.5)
    assert scores["families"]["blur"] == pytest.approx(0.3) and scores["corruptions"]["jpeg"] == pytest.approx(0.3)


def test_the_picture_shows_every_corruption_and_severity(images, tmp_path):
    path = corruptions.suite_png(images[0], tmp_path / "suite.png")
    assert path.stat().st_size > 5000 and torch is not None
